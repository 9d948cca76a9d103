// ejson's wire format for one encrypted value: EJ[1:<ephemeral public key>:<nonce>:<box>].

export interface BoxedMessage {
  readonly schemaVersion: number;
  /** The encrypting run's ephemeral public key (32 bytes). */
  readonly encrypterPublic: Uint8Array;
  /** 24 bytes. */
  readonly nonce: Uint8Array;
  /** Poly1305 tag followed by the ciphertext. */
  readonly box: Uint8Array;
}

// ejson's regular expression, applied to the bytes seen as Latin-1 so that `[^\n]` matches
// exactly what Go's `.` matches on bytes. `$` without the m flag is the end of input (Go's `\z`).
const BOXED_MESSAGE = /^EJ\[(\d):([A-Za-z0-9+=/]{44}):([A-Za-z0-9+=/]{32}):([^\n]+)\]$/;

function asLatin1(value: Uint8Array | string): string {
  return typeof value === 'string'
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
}

/** Whether a value already has the wire format; encrypt leaves such values as they are. */
export function isBoxedMessage(value: Uint8Array | string): boolean {
  return BOXED_MESSAGE.test(asLatin1(value));
}

/** Why a value could not be read as a boxed message; the value itself is never included. */
export class BoxedMessageError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'BoxedMessageError';
  }
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Go's `base64.StdEncoding.DecodeString`: padded, standard alphabet, CR and LF ignored. */
function decodeStdBase64(text: string, what: string): Uint8Array {
  const compact = text.replace(/[\r\n]/g, '');
  if (!STD_BASE64.test(compact)) throw new BoxedMessageError(`${what} is not valid base64`);
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** Reads the wire format, with ejson's checks (the schema version is read but not enforced). */
export function parseBoxedMessage(value: Uint8Array | string): BoxedMessage {
  const match = BOXED_MESSAGE.exec(asLatin1(value));
  if (!match) throw new BoxedMessageError('invalid message format');
  const [, version, publicKey, nonce, box] = match as unknown as [string, string, string, string, string];
  const encrypterPublic = decodeStdBase64(publicKey, 'the public key');
  if (encrypterPublic.length !== 32) throw new BoxedMessageError('public key invalid');
  const nonceBytes = decodeStdBase64(nonce, 'the nonce');
  if (nonceBytes.length !== 24) throw new BoxedMessageError('nonce invalid');
  return {
    schemaVersion: Number(version),
    encrypterPublic,
    nonce: nonceBytes,
    box: decodeStdBase64(box, 'the box'),
  };
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Writes the wire format (standard padded base64). */
export function formatBoxedMessage(message: BoxedMessage): string {
  return `EJ[${message.schemaVersion}:${toBase64(message.encrypterPublic)}:${toBase64(message.nonce)}:${toBase64(message.box)}]`;
}
