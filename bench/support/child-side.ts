// The other side of a benchmark (a local Telegram, WhatsApp or Discord) in a child process,
// so its CPU and memory are not the measured platform's; asked over IPC, one answer per ask.
//
//   const side = startChildSide<ToSide, FromSide>(import.meta.url, "discord");
//   const ready = await side.ask({ type: "setup" }, "ready");   // waits for the answer of that type
//   side.child.send({ type: "stop" });
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface ChildSide<To, From extends { type: string }> {
  child: ChildProcess;
  ask<T extends From["type"]>(message: To, answer: T): Promise<Extract<From, { type: T }>>;
}

/** Runs `script` again with `--role <role>` in a child process with an IPC channel. */
export function startChildSide<To, From extends { type: string }>(script: string, role: string): ChildSide<To, From> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(script), "--role", role], {
    cwd: root, stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return {
    child,
    ask(message, answer) {
      return new Promise((resolve, reject) => {
        const onMessage = (reply: From) => {
          if (reply.type !== answer) return;
          child.off("message", onMessage);
          resolve(reply as never);
        };
        child.on("message", onMessage);
        child.once("exit", (code) => reject(new Error(`the ${role} side exited with ${code}`)));
        child.send(message as never);
      });
    },
  };
}
