import type { Queryable } from './database.js';

/**
 * What the serving role may do beyond reading and writing rows. The server needs none of it;
 * each item would let an attacker who found an injection or stole the URL change the schema.
 */
export async function excessPrivileges(db: Queryable): Promise<string[]> {
  const [role] = await db.query<{
    rolsuper: boolean;
    rolcreaterole: boolean;
    rolcreatedb: boolean;
    rolbypassrls: boolean;
    schema_create: boolean;
    database_create: boolean;
    owned_tables: number;
  }>(`
    SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
           has_schema_privilege(current_user, current_schema(), 'CREATE') AS schema_create,
           has_database_privilege(current_user, current_database(), 'CREATE') AS database_create,
           (SELECT count(*)::int FROM pg_tables
             WHERE schemaname = current_schema() AND tableowner = current_user) AS owned_tables
      FROM pg_roles r WHERE r.rolname = current_user`);
  if (role === undefined) return ['the current role could not be inspected'];
  const found: string[] = [];
  if (role.rolsuper) found.push('is a superuser');
  if (role.rolcreaterole) found.push('can create roles');
  if (role.rolcreatedb) found.push('can create databases');
  if (role.rolbypassrls) found.push('bypasses row-level security');
  if (role.schema_create) found.push('can create objects in the schema');
  if (role.database_create) found.push('can create schemas in the database');
  if (role.owned_tables > 0) found.push('owns tables (and so can alter or drop them)');
  return found;
}
