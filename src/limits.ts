/** OpenAI's limits and the action's own bounds, in one place. */

/** The most certificates OpenAI lets an organization hold. */
export const MAX_CERTIFICATES = 50;
/** The most ids OpenAI takes in one activate or deactivate call. */
export const IDS_PER_CALL = 10;
/** OpenAI accepts certificates under 16 KB. */
export const MAX_CERTIFICATE_BYTES = 16_384;
/** The longest certificate name the action accepts. */
export const MAX_NAME_LENGTH = 200;

/** How many project calls that may write the main action runs at once. */
export const PROJECT_CONCURRENCY = 8;
/** How many list calls run at once where nothing is written (the status action, the main action's first look): more than writes. */
export const READ_CONCURRENCY = 16;

/** The page size asked for when listing. */
export const PAGE_SIZE = 100;
/**
 * The most distinct certificates a certificate list may hold before the action stops reading it: the
 * organization holds at most 50, and racing uploads refused at the cap add none. Twice the cap leaves
 * room for a list that is answered while certificates are deleted and uploaded.
 */
export const MAX_LISTED_CERTIFICATES = 2 * MAX_CERTIFICATES;
/** The most projects the status action reads with `projects: all`. */
export const MAX_LISTED_PROJECTS = 10_000;
/** The most pages one list may take, whatever the page size a gateway gives. */
export const MAX_PAGES = 200;
/** The most bytes of one answer the action reads. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** A difference between the runner's clock and the API's beyond which the API's clock is used. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
