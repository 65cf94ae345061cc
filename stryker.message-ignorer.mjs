// A StrykerJS ignorer plugin (see stryker.config.mjs): leaves the words of messages out of the mutants,
// and nothing else.
//
// It ignores a string literal, or a template literal, when it is (part of) a message text:
//   - the first argument of a `.log()`, `.info()`, `.notice()`, `.warning()`, `.error()` or `.debug()` call;
//   - the message and hint arguments of `new ActionError(message, …)`, `new InputError(input, message, hint)`,
//     `new SourceError(message, hint)` and `new Error(message)` (never the input name: it is a title);
//   - the value of an object property that holds only words for people: MESSAGE_PROPERTIES below
//     (`message` and `hint` of checks, errors and advisories, `unconfirmed` and `what` of a retried write,
//     `action` of an API error's context, `why` of an unreadable content);
//   - the arguments of a file's own function that are only message text: MESSAGE_CALL_ARGUMENTS, by file
//     (`why`, the reason a deletion gives in the log);
//   - the value of a variable that holds only message text: MESSAGE_VARIABLES below, by file;
//   - the value returned by a function that only words a value for a message: MESSAGE_FUNCTIONS, by file.
// "Part of" means anywhere inside such a position, through conditionals and callbacks (`cond ? 'a' : 'b'`,
// `labels.map((l) => \`…${l}\`)`).
//
// Only the StringLiteral mutator's mutants are ignored. An ignorer ignores every mutant of a node and of
// the nodes under it, so a template literal is ignored only when its `${}` expressions hold nothing any
// other mutator would change (names, property reads, plain calls, other literals); otherwise the template
// keeps its mutant (the message replaced by ``), and the string literals inside its expressions are
// ignored one by one. Conditions, operators, method calls and whole statements inside or around a message
// (whether a log line, a notice or an error is emitted at all) are all still mutated and counted.
//
// Strings that decide behaviour are never in these positions and stay mutated: error codes
// (`certificate_in_use`), scope names (`organization`), header names (`x-should-retry`), input names,
// check names and statuses, annotation titles (`title`), URLs.
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

export const IGNORER = 'message-text';

const REASON = 'Message text: the words of an error, hint, log line or notice (see stryker.message-ignorer.mjs).';

/** Calls whose first argument is a line for the log or an annotation. */
const LOG_METHODS = new Set(['log', 'info', 'notice', 'warning', 'error', 'debug']);

/** `new X(...)`: the indexes of the arguments that are message text. */
const MESSAGE_ARGUMENTS = new Map([
  ['ActionError', [0]],
  ['InputError', [1, 2]],
  ['SourceError', [0, 1]],
  ['Error', [0]],
]);

const MESSAGE_PROPERTIES = new Set(['message', 'hint', 'unconfirmed', 'what', 'action', 'why']);

/** Calls of a function of the file whose arguments (by index) are message text, by file. */
const MESSAGE_CALL_ARGUMENTS = {
  'src/rotation/apply.ts': { deleteExpired: [4] },
};

/** Variables that hold only message text, by file (a path ending). */
const MESSAGE_VARIABLES = {
  'src/rotation/apply.ts': ['label'],
  'src/rotation/retry.ts': ['next', 'failed', 'tried', 'message'],
  'src/rotation/upload.ts': ['by'],
  'src/certificate/checks.ts': ['CA_PROFILE_FIX', 'PEM_TYPES', 'what', 'renew', 'more', 'subjects', 'until'],
  'src/inputs/read.ts': ['kind'],
};

/** Functions whose return value only words something for a message, by file. */
const MESSAGE_FUNCTIONS = {
  'src/rotation/plan.ts': ['lockoutCaution'],
  'src/rotation/retry.ts': ['describe', 'seconds'],
  'src/rotation/upload.ts': ['lowerFirst'],
  'src/certificate/checks.ts': ['describeEncoding', 'formatDays', 'subjectOf'],
};

/** Methods the MethodExpression mutator changes: a call of one of them inside `${}` is not inert. */
const MUTATED_METHODS = new Set([
  'charAt',
  'endsWith',
  'startsWith',
  'every',
  'some',
  'filter',
  'reverse',
  'slice',
  'sort',
  'substr',
  'substring',
  'toLocaleLowerCase',
  'toLocaleUpperCase',
  'toLowerCase',
  'toUpperCase',
  'trim',
  'trimEnd',
  'trimStart',
  'min',
  'max',
]);

function fileOf(path) {
  return (path.hub?.file?.opts?.filename ?? '').split('\\').join('/');
}

function forFile(table, file, fallback) {
  for (const [ending, value] of Object.entries(table)) if (file.endsWith(ending)) return value;
  return fallback;
}

function keyName(node) {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'StringLiteral') return node.value;
  return undefined;
}

/** An expression no mutator other than StringLiteral changes: names, property reads, plain calls, literals. */
function inert(node) {
  switch (node.type) {
    case 'Identifier':
    case 'ThisExpression':
    case 'NumericLiteral':
    case 'StringLiteral':
      return true;
    case 'TemplateLiteral':
      return node.expressions.every(inert);
    case 'TSNonNullExpression':
    case 'TSAsExpression':
      return inert(node.expression);
    case 'MemberExpression':
      return inert(node.object) && (!node.computed || inert(node.property));
    case 'CallExpression': {
      const callee = node.callee;
      const calleeInert =
        callee.type === 'Identifier' ||
        (callee.type === 'MemberExpression' &&
          !callee.computed &&
          callee.property.type === 'Identifier' &&
          !MUTATED_METHODS.has(callee.property.name) &&
          inert(callee.object));
      return calleeInert && node.arguments.every(inert);
    }
    default:
      return false;
  }
}

/** Whether `child`, a direct child of `parent`, is a message position. */
function isMessagePosition(parentPath, child, file) {
  const parent = parentPath.node;
  switch (parent.type) {
    case 'CallExpression': {
      const callee = parent.callee;
      if (callee.type === 'Identifier') {
        const indexes = forFile(MESSAGE_CALL_ARGUMENTS, file, {})[callee.name] ?? [];
        return indexes.some((i) => parent.arguments[i] === child);
      }
      return (
        parent.arguments[0] === child &&
        callee.type === 'MemberExpression' &&
        !callee.computed &&
        callee.property.type === 'Identifier' &&
        LOG_METHODS.has(callee.property.name)
      );
    }
    case 'NewExpression': {
      const indexes = parent.callee.type === 'Identifier' ? MESSAGE_ARGUMENTS.get(parent.callee.name) : undefined;
      return indexes !== undefined && indexes.some((i) => parent.arguments[i] === child);
    }
    case 'ObjectProperty':
      return parent.value === child && !parent.computed && MESSAGE_PROPERTIES.has(keyName(parent.key));
    case 'VariableDeclarator':
      return parent.init === child && parent.id.type === 'Identifier' && forFile(MESSAGE_VARIABLES, file, []).includes(parent.id.name);
    case 'ReturnStatement':
    case 'ArrowFunctionExpression': {
      if (parent.type === 'ArrowFunctionExpression' && parent.body !== child) return false;
      const fn = parent.type === 'ReturnStatement' ? parentPath.getFunctionParent()?.node : parent;
      const name = fn?.id?.name;
      return name !== undefined && forFile(MESSAGE_FUNCTIONS, file, []).includes(name);
    }
    default:
      return false;
  }
}

/** Whether the node at `path` lies inside a message position (within the same statement). */
function inMessage(path) {
  const file = fileOf(path);
  let child = path;
  for (let parent = path.parentPath; parent; child = parent, parent = parent.parentPath) {
    if (isMessagePosition(parent, child.node, file)) return true;
    // A statement ends the search, except a return (checked above) and the statements of a callback
    // inside a message, whose enclosing expression is checked as the walk goes on.
    if (parent.isStatement() && !parent.isReturnStatement() && !parent.isBlockStatement()) return false;
    if (parent.isBlockStatement() && !parent.parentPath?.isArrowFunctionExpression()) return false;
  }
  return false;
}

export const messageIgnorer = {
  shouldIgnore(path) {
    if (path.isStringLiteral()) return inMessage(path) ? REASON : undefined;
    if (path.isTemplateLiteral()) return inert(path.node) && inMessage(path) ? REASON : undefined;
    return undefined;
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, IGNORER, messageIgnorer)];
