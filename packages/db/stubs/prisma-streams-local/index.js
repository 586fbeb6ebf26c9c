// The Prisma 7.10.0 CLI depends on @prisma/dev, which depends on @prisma/streams-local; that
// package requires Node >= 22, while this project promises Node >= 20.19. @prisma/dev loads it
// only to start the local durable-streams server of `prisma dev`, a command this project never
// runs (it uses Postgres, `npm run db:generate` and its own WebAssembly migrations). The root
// package.json's `overrides` puts this module in its place, so nothing asks for Node 22.
export async function startLocalDurableStreamsServer() {
  throw new Error(
    '`prisma dev` is not supported in this repository: its @prisma/streams-local needs Node >= 22 ' +
      'and is replaced by a stub (see packages/db/stubs/prisma-streams-local)',
  );
}
