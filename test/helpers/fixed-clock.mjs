// Preloaded into the compiled action's process by tests that need its clock at an exact instant (see
// fixedClockEnv in clock.ts): `Date.now()` and `new Date()` give FIXED_NOW_MS, milliseconds since the
// epoch, and that time does not pass. Dates built from a value, timers and performance.now() are untouched.
const fixed = Number(process.env.FIXED_NOW_MS);
if (!Number.isSafeInteger(fixed)) throw new Error(`fixed-clock.mjs: FIXED_NOW_MS is not a time in ms: "${process.env.FIXED_NOW_MS}"`);

const RealDate = globalThis.Date;
globalThis.Date = new Proxy(RealDate, {
  construct: (target, args, newTarget) => Reflect.construct(target, args.length === 0 ? [fixed] : args, newTarget),
  apply: () => new RealDate(fixed).toString(),
  get: (target, property, receiver) => (property === 'now' ? () => fixed : Reflect.get(target, property, receiver)),
});
