// A plain-SQL dump with its table data left out, for the loader: every statement, meta-command and
// comment passes through, and each COPY block is kept with its rows dropped (an empty COPY), so the
// dump keeps the exact shape the loader expects (its table bookkeeping, post-data ordering, trailer)
// while importing only the schema. Rows of the tables `keepRows` accepts (the migrations table) stay.
//
//   schemaOnly(input, keepRows): AsyncGenerator<Buffer>
import { splitStatements } from '../loader/index.ts'

/** True for `COPY public.schema_migrations (...) FROM stdin;`, the table whose rows validate-schema reads. */
export function isMigrationsTableCopy(copySql: string): boolean {
  return /^COPY\s+(?:"?public"?\.)?"?schema_migrations"?[\s(]/i.test(copySql.trimStart())
}

export async function* schemaOnly(input: AsyncIterable<Buffer>, keepRows: (copySql: string) => boolean = isMigrationsTableCopy): AsyncGenerator<Buffer> {
  let keeping = false
  for await (const item of splitStatements(input)) {
    switch (item.kind) {
      case 'statement':
        yield Buffer.from(`${item.sql}\n`)
        break
      case 'copy-start':
        keeping = keepRows(item.sql)
        yield Buffer.from(`${item.sql}\n`)
        break
      case 'copy-data':
        if (keeping) yield item.data
        break
      case 'copy-end':
        keeping = false
        yield Buffer.from('\\.\n')
        break
      case 'meta':
        yield Buffer.from(`${item.command}${item.args ? ` ${item.args}` : ''}\n`)
        break
      case 'comment':
        yield Buffer.from(`${item.text.startsWith('--') ? item.text : `-- ${item.text}`}\n`)
        break
    }
  }
}
