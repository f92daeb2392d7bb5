/** The error `promise` rejects with, for assertions on its code and message; fails when it resolves. */
export async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a server error");
}
