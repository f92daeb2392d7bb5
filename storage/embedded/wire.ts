// MongoDB wire protocol framing: the 16-byte header, OP_MSG (sections of kind 0 and 1),
// and the legacy OP_QUERY / OP_REPLY pair that drivers still use for the very first
// handshake, before they know the server speaks OP_MSG.
import { deserialize, serialize } from "bson";
import type { Document } from "bson";

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_COMPRESSED = 2012;
const OP_MSG = 2013;

export const HEADER_SIZE = 16;
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
export const MAX_MESSAGE_SIZE = 48_000_000;

const FLAG_CHECKSUM_PRESENT = 1;
// A client's exhaustAllowed bit (1 << 16) only permits streamed replies; a server that
// answers each request once, as this one does, may ignore it.
const FLAG_MORE_TO_COME = 1 << 1;

// Numbers stay JS numbers so mingo can compare them; Longs that do not fit 53 bits stay Long.
const DESERIALIZE_OPTIONS = { promoteLongs: true, promoteValues: true, promoteBuffers: false } as const;

interface MessageHeader {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export interface CommandRequest {
  kind: "msg" | "query";
  requestId: number;
  /** Database the command addresses (`$db` for OP_MSG, the namespace prefix for OP_QUERY). */
  db: string;
  command: Document;
  /** OP_MSG only: the client does not want a reply (unacknowledged write). */
  moreToCome: boolean;
}

class WireError extends Error {}

function readHeader(buf: Buffer): MessageHeader {
  return {
    length: buf.readInt32LE(0),
    requestId: buf.readInt32LE(4),
    responseTo: buf.readInt32LE(8),
    opCode: buf.readInt32LE(12),
  };
}

/** Parses one complete message (header included) into the command it carries. */
export function parseMessage(message: Buffer): CommandRequest {
  const header = readHeader(message);
  switch (header.opCode) {
    case OP_MSG:
      return parseOpMsg(message, header);
    case OP_QUERY:
      return parseOpQuery(message, header);
    case OP_COMPRESSED:
      throw new WireError("OP_COMPRESSED received although no compressor was negotiated");
    default:
      throw new WireError(`unsupported opCode ${header.opCode}`);
  }
}

function readCString(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new WireError("unterminated cstring");
  return [buf.toString("utf8", offset, end), end + 1];
}

function readDocument(buf: Buffer, offset: number): [Document, number] {
  if (offset + 4 > buf.length) throw new WireError("truncated BSON document");
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > buf.length) throw new WireError("invalid BSON document size");
  const doc = deserialize(buf.subarray(offset, offset + size), DESERIALIZE_OPTIONS);
  return [doc, offset + size];
}

function parseOpMsg(message: Buffer, header: MessageHeader): CommandRequest {
  const flags = message.readUInt32LE(HEADER_SIZE);
  const end = flags & FLAG_CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let offset = HEADER_SIZE + 4;
  let body: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = message[offset];
    offset += 1;
    if (kind === 0) {
      [body, offset] = readDocument(message, offset);
    } else if (kind === 1) {
      if (offset + 4 > end) throw new WireError("truncated document sequence");
      const sectionEnd = offset + message.readInt32LE(offset);
      if (sectionEnd < offset + 5 || sectionEnd > end) throw new WireError("invalid document sequence size");
      const [identifier, afterIdentifier] = readCString(message, offset + 4);
      let cursor = afterIdentifier;
      const docs: Document[] = [];
      while (cursor < sectionEnd) {
        let doc: Document;
        [doc, cursor] = readDocument(message, cursor);
        docs.push(doc);
      }
      sequences.push([identifier, docs]);
      offset = sectionEnd;
    } else {
      throw new WireError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new WireError("OP_MSG without a body section");
  for (const [identifier, docs] of sequences) {
    const existing = body[identifier];
    body[identifier] = Array.isArray(existing) ? [...existing, ...docs] : docs;
  }
  const db = typeof body.$db === "string" ? body.$db : "admin";
  return {
    kind: "msg",
    requestId: header.requestId,
    db,
    command: body,
    moreToCome: (flags & FLAG_MORE_TO_COME) !== 0,
  };
}

function parseOpQuery(message: Buffer, header: MessageHeader): CommandRequest {
  let offset = HEADER_SIZE + 4;
  const [namespace, afterName] = readCString(message, offset);
  offset = afterName + 8; // numberToSkip, numberToReturn: meaningless for commands
  let [query] = readDocument(message, offset);
  const dot = namespace.indexOf(".");
  const db = dot < 0 ? namespace : namespace.slice(0, dot);
  const collection = dot < 0 ? "" : namespace.slice(dot + 1);
  if (collection !== "$cmd") throw new WireError(`OP_QUERY is only accepted for commands, not on ${namespace}`);
  // Drivers wrap a command in $query when they also send $readPreference.
  if (query.$query && typeof query.$query === "object") query = query.$query as Document;
  return { kind: "query", requestId: header.requestId, db, command: query, moreToCome: false };
}

let nextResponseId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE);
  buf.writeInt32LE(length, 0);
  buf.writeInt32LE(nextResponseId, 4);
  nextResponseId = (nextResponseId + 1) & 0x7fffffff;
  buf.writeInt32LE(responseTo, 8);
  buf.writeInt32LE(opCode, 12);
  return buf;
}

function serializeReply(doc: Document): Buffer {
  // serialize() works in a 17 MB scratch buffer; cursors cap their batches below 16 MiB.
  const bytes = serialize(doc, { checkKeys: false, ignoreUndefined: false });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function encodeOpMsgReply(responseTo: number, doc: Document): Buffer {
  const body = serializeReply(doc);
  const prefix = Buffer.alloc(5); // flagBits (uint32) + section kind 0
  const head = header(HEADER_SIZE + prefix.length + body.length, responseTo, OP_MSG);
  return Buffer.concat([head, prefix, body]);
}

function encodeOpReply(responseTo: number, doc: Document): Buffer {
  const body = serializeReply(doc);
  // responseFlags 0, cursorID 0 (int64), startingFrom 0, then numberReturned.
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(1, 16);
  const head = header(HEADER_SIZE + fields.length + body.length, responseTo, OP_REPLY);
  return Buffer.concat([head, fields, body]);
}

export function encodeReply(request: CommandRequest, doc: Document): Buffer {
  return request.kind === "query" ? encodeOpReply(request.requestId, doc) : encodeOpMsgReply(request.requestId, doc);
}
