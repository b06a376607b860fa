// Runs async work one piece at a time, in call order: a piece starts when the previous one has settled (resolved or
// rejected), and a failure is reported to its caller only, never to the pieces after it.
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
