/** A notice or warning the run says as an annotation titled by what it is about (an input, a step). */
export interface Advisory {
  level: 'notice' | 'warning';
  title: string;
  message: string;
}
