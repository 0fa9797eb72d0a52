/**
 * Creates each model's indexes once its collection exists. mongoose creates
 * the collection in the background when the model is defined (autoCreate);
 * creating an index at the same moment creates it a second time, which
 * mongo-java-server does not serialise (it fails with "already existed").
 * Waiting for `init()` first is correct on every engine.
 */
export async function ensureModelIndexes(
  ...models: { init(): Promise<unknown>; createIndexes(): Promise<unknown> }[]
): Promise<void> {
  for (const model of models) {
    await model.init();
    await model.createIndexes();
  }
}
