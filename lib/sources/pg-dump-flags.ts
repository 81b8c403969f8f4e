// The one set of pg_dump flags every source uses: a plain-SQL dump that recreates the schema in any
// database (no owners, no grants), and can be loaded over an existing one.
export const PG_DUMP_FLAGS: readonly string[] = ['--format=plain', '--clean', '--if-exists', '--no-owner', '--no-acl']
