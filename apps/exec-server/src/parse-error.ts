import type { DecodeFailure } from '@tether/protocol';

/**
 * The reason the reference (serde_json) gives for a JSON text it cannot parse, such as
 * `expected ident at line 1 column 2`, or undefined when the text is valid JSON.
 */
export function serdeJsonError(text: string): string | undefined {
  let i = 0;
  const at = (index: number): string => {
    let line = 1;
    let column = 0;
    for (let k = 0; k < index && k < text.length; k++) {
      if (text[k] === '\n') {
        line += 1;
        column = 0;
      } else {
        column += 1;
      }
    }
    return `at line ${line} column ${index >= text.length ? column : column + 1}`;
  };
  class Fail {
    constructor(readonly message: string) {}
  }
  const fail = (what: string, index: number): never => {
    throw new Fail(`${what} ${at(index)}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      if (i + k >= text.length) fail('EOF while parsing a value', text.length);
      if (text[i + k] !== word[k]) fail('expected ident', i + k);
    }
    i += word.length;
  };
  const string = () => {
    i++;
    for (;;) {
      if (i >= text.length) fail('EOF while parsing a string', text.length);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character (\\u0000-\\u001F) found while parsing a string', i);
      if (c === 0x5c) {
        i++;
        if (i >= text.length) fail('EOF while parsing a string', text.length);
        const e = text[i] as string;
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= text.length) fail('EOF while parsing a string', text.length);
            if (!/[0-9a-fA-F]/.test(text[i + k] as string)) fail('invalid escape', i + k);
          }
          i += 4;
        } else if (!'"\\/bfnrt'.includes(e)) {
          fail('invalid escape', i);
        }
      }
      i++;
    }
  };
  const number = () => {
    if (text[i] === '-') i++;
    if (i >= text.length) fail('EOF while parsing a value', text.length);
    if (!/[0-9]/.test(text[i] as string)) fail('invalid number', i);
    if (text[i] === '0') i++;
    else while (/[0-9]/.test(text[i] ?? '')) i++;
    if (text[i] === '.') {
      i++;
      if (!/[0-9]/.test(text[i] ?? ''))
        fail(i >= text.length ? 'EOF while parsing a value' : 'invalid number', i);
      while (/[0-9]/.test(text[i] ?? '')) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!/[0-9]/.test(text[i] ?? ''))
        fail(i >= text.length ? 'EOF while parsing a value' : 'invalid number', i);
      while (/[0-9]/.test(text[i] ?? '')) i++;
    }
  };
  const value = (): void => {
    ws();
    if (i >= text.length) fail('EOF while parsing a value', text.length);
    const c = text[i] as string;
    if (c === '{') object();
    else if (c === '[') list();
    else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || /[0-9]/.test(c)) number();
    else fail('expected value', i);
  };
  const object = () => {
    i++;
    ws();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (i >= text.length) fail('EOF while parsing an object', text.length);
      if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma' : 'key must be a string', i);
      string();
      ws();
      if (i >= text.length) fail('EOF while parsing an object', text.length);
      if (text[i] !== ':') fail('expected `:`', i);
      i++;
      value();
      ws();
      if (i >= text.length) fail('EOF while parsing an object', text.length);
      if (text[i] === '}') {
        i++;
        return;
      }
      if (text[i] !== ',') fail('expected `,` or `}`', i);
      i++;
    }
  };
  const list = () => {
    i++;
    ws();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (;;) {
      value();
      ws();
      if (i >= text.length) fail('EOF while parsing a list', text.length);
      if (text[i] === ']') {
        i++;
        return;
      }
      if (text[i] !== ',') fail('expected `,` or `]`', i);
      i++;
      ws();
      if (text[i] === ']') fail('trailing comma', i);
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail('trailing characters', i);
    return undefined;
  } catch (error) {
    if (error instanceof Fail) return error.message;
    throw error;
  }
}

/** V8 quotes the source in its message: `Unexpected token 'h', "this is not json{" is not valid JSON`. */
const QUOTED_SOURCE = /, "([\s\S]*)" is not valid JSON$/;
const POSITION = /at position (\d+)/;

/**
 * The serde-style reason for a frame the codec refused. For malformed JSON the frame's `text` (the
 * transport passes it) is parsed again to name the fault like serde_json; without it the text is
 * recovered from V8's message when that quotes all of it, else the position V8 names is used.
 */
export function describeDecodeFailure(failure: DecodeFailure, text?: string): string {
  switch (failure.kind) {
    case 'batch':
    case 'not-an-object':
      return 'expected a JSON-RPC object';
    case 'null-id':
    case 'invalid-id':
      return 'data did not match any variant of untagged enum RequestId';
    case 'malformed-json': {
      const exact = text === undefined ? undefined : serdeJsonError(text);
      if (exact) return exact;
      const v8 = failure.message.replace(/^invalid JSON: /, '');
      const quoted = QUOTED_SOURCE.exec(v8);
      if (quoted?.[1] !== undefined && !v8.includes('"...')) {
        const reason = serdeJsonError(quoted[1]);
        if (reason) return reason;
      }
      if (/Unexpected end of JSON input/.test(v8))
        return 'EOF while parsing a value at line 1 column 0';
      const position = POSITION.exec(v8);
      if (position) return `expected value at line 1 column ${Number(position[1]) + 1}`;
      return v8;
    }
    default:
      return 'data did not match any variant of untagged enum JSONRPCMessage';
  }
}
