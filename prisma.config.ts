// Prisma CLI configuration (Prisma 7 reads the connection from here, not from the schema).
// Only `prisma generate` is used through the CLI (`npm run db:generate`); migrations are applied by
// packages/db/src/migrate.ts with the WebAssembly schema engine, because the CLI's native engine
// cannot be downloaded here. See packages/db/README.md.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/backprop',
  },
});
