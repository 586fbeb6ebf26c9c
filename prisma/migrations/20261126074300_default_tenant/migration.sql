-- The default tenant. Every resource belongs to a tenant; until authentication arrives, every
-- request acts as this one (DEFAULT_TENANT_ID in packages/db/src/tenants.ts).
INSERT INTO "Tenant" ("id", "name") VALUES ('00000000-0000-4000-8000-000000000001', 'default')
ON CONFLICT DO NOTHING;
