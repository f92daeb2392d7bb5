// The single-member replica-set mode: what `hello` adds to present the server as the
// primary of a one-member set (so drivers use change streams and retryable writes), and the
// rules for transaction fields there. Retryable writes are accepted, and a write retried
// with the same session and txnNumber answers its first reply instead of applying twice;
// multi-document transactions are still refused.
import { Long, ObjectId } from "bson";
import type { Document } from "bson";
import type { ChangeLog } from "./change-log.ts";
import { CommandError } from "./errors.ts";
import { isPlainObject } from "./bson-values.ts";

/** The commands a driver sends with a txnNumber as retryable writes. */
const RETRYABLE_WRITES = new Set(["insert", "update", "delete", "findAndModify", "findandmodify"]);
/** Replies remembered for retried writes, oldest forgotten first. */
const REMEMBERED_WRITES = 10_000;

export const TRANSACTIONS_NOT_SUPPORTED = "Multi-document transactions are not supported by the embedded MongoDB server";

export class ReplicaSetState {
  readonly electionId = new ObjectId();
  private readonly replies = new Map<string, Document>();

  /** host:port as the member names itself (`me`, `hosts`): set once the server listens. */
  member = "";

  constructor(
    readonly name: string,
    private readonly log: ChangeLog,
  ) {}

  /**
   * The member's name for a listening address. It must be the address clients connect to:
   * a driver drops a member whose `me` differs from the address it used, and connects to
   * the `hosts` listed instead.
   */
  static memberName(host: string, port: number): string {
    const advertised = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
    return advertised.includes(":") ? `[${advertised}]:${port}` : `${advertised}:${port}`;
  }

  /** The fields hello adds for the primary of a one-member set. */
  helloFields(): Document {
    const member = this.member;
    const opTime = { ts: this.log.clusterTime, t: Long.fromNumber(1) };
    const date = new Date(opTime.ts.high * 1000);
    return {
      hosts: [member],
      setName: this.name,
      setVersion: 1,
      secondary: false,
      primary: member,
      me: member,
      electionId: this.electionId,
      lastWrite: { opTime, lastWriteDate: date, majorityOpTime: opTime, majorityWriteDate: date },
    };
  }

  status(member: string, startedAt: Date): Document {
    // replSetGetStatus, for tools that ask which member is primary.
    return {
      set: this.name,
      date: new Date(),
      myState: 1,
      term: Long.fromNumber(1),
      members: [{ _id: 0, name: member, health: 1, state: 1, stateStr: "PRIMARY", uptime: Math.floor((Date.now() - startedAt.getTime()) / 1000), self: true }],
    };
  }

  /**
   * Checks a command's transaction fields; returns the key under which a retryable write's
   * reply is remembered, if it is one.
   */
  checkTransactionFields(name: string, command: Document): string | undefined {
    if (command.startTransaction !== undefined || command.autocommit !== undefined || name === "commitTransaction" || name === "abortTransaction") {
      // Not IllegalOperation (20): drivers read that on a write as "retryable writes unsupported".
      throw new CommandError("OperationNotSupportedInTransaction", TRANSACTIONS_NOT_SUPPORTED);
    }
    if (command.txnNumber === undefined) return undefined;
    if (!RETRYABLE_WRITES.has(name)) {
      throw new CommandError("Location50768", "txnNumber may only be provided for multi-document transactions and retryable write commands");
    }
    const lsid = isPlainObject(command.lsid) ? command.lsid.id : undefined;
    if (lsid === undefined) throw new CommandError("InvalidOptions", "Transaction number requires a session ID to also be specified");
    const id = typeof lsid === "object" && lsid !== null && "toString" in lsid ? (lsid as { toString(enc?: string): string }).toString("hex") : String(lsid);
    return `${id}:${String(command.txnNumber)}`;
  }

  /** The reply a write with this key already got, if it ran. */
  retried(key: string): Document | undefined {
    return this.replies.get(key);
  }

  remember(key: string, reply: Document): void {
    this.replies.set(key, reply);
    if (this.replies.size > REMEMBERED_WRITES) this.replies.delete(this.replies.keys().next().value as string);
  }
}
