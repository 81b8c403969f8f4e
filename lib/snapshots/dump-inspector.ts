// A pass-through that reads a plain-SQL dump as it streams by: the version header, rows per COPY block,
// and whether the completion trailer arrived. Works line by line on bytes so a 400 MB dump costs one
// scan and no string conversion of row data.
import { Transform, type TransformCallback } from 'node:stream'

export const DUMP_TRAILER = '-- PostgreSQL database dump complete'
const DUMP_HEADER = '-- PostgreSQL database dump'

export interface DumpFacts {
  serverVersion: string | null
  pgDumpVersion: string | null
  /** Rows per table, keyed as the COPY statement names it (e.g. public.users). */
  tables: Record<string, number>
  totalRows: number
  uncompressedBytes: number
  trailerSeen: boolean
  /** True when the stream ended inside a COPY block. */
  endedInsideCopy: boolean
  /** Lines of SQL outside COPY data and comments: 0 means a file with nothing to load (a trailer alone). */
  statementLines: number
  /** The first line after the completion trailer that is neither blank, a comment, \unrestrict, nor the
   * start of another dump (a concatenation): garbage that would fail only at import. */
  garbageAfterTrailer?: { line: number; text: string }
}

const NL = 0x0a
const COPY_RE = /^COPY\s+(.+?)\s*(?:\(.*\))?\s+FROM\s+stdin;\s*$/
const SERVER_RE = /^-- Dumped from database version (.+?)\s*$/
const PGDUMP_RE = /^-- Dumped by pg_dump version (.+?)\s*$/

export class DumpInspector extends Transform {
  private readonly facts: DumpFacts = {
    serverVersion: null,
    pgDumpVersion: null,
    tables: {},
    totalRows: 0,
    uncompressedBytes: 0,
    trailerSeen: false,
    endedInsideCopy: false,
    statementLines: 0,
  }
  private lineNo = 0
  private copyTable: string | null = null
  private carry: Buffer | null = null

  result(): DumpFacts {
    return { ...this.facts, tables: { ...this.facts.tables } }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.facts.uncompressedBytes += chunk.length
    let buf = chunk
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk])
      this.carry = null
    }
    let start = 0
    for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
      this.line(buf, start, nl)
      start = nl + 1
    }
    if (start < buf.length) this.carry = buf.subarray(start)
    cb(null, chunk)
  }

  override _flush(cb: TransformCallback): void {
    if (this.carry) this.line(this.carry, 0, this.carry.length)
    this.carry = null
    this.facts.endedInsideCopy = this.copyTable !== null
    cb()
  }

  private line(buf: Buffer, start: number, end: number): void {
    this.lineNo++
    if (this.copyTable !== null) {
      if (end - start === 2 && buf[start] === 0x5c && buf[start + 1] === 0x2e) {
        this.copyTable = null // "\." ends the block
        return
      }
      this.facts.tables[this.copyTable] = (this.facts.tables[this.copyTable] ?? 0) + 1
      this.facts.totalRows++
      return
    }
    const first = buf[start]
    if (first !== 0x2d /* - */ && !isBlank(buf, start, end)) {
      if (this.facts.trailerSeen) this.afterTrailer(buf, start, end)
      this.facts.statementLines++
    }
    if (first !== 0x43 /* C */ && first !== 0x2d /* - */) return
    const text = buf.toString('utf8', start, end)
    if (first === 0x43) {
      const m = COPY_RE.exec(text)
      if (m?.[1]) {
        this.copyTable = m[1]
        this.facts.tables[m[1]] ??= 0
      }
      return
    }
    if (text === DUMP_TRAILER) {
      this.facts.trailerSeen = true
      return
    }
    // Another dump appended after this one's trailer (cat a.sql b.sql): it must end with its own.
    if (this.facts.trailerSeen && text === DUMP_HEADER) this.facts.trailerSeen = false
    if (this.facts.serverVersion === null) {
      const m = SERVER_RE.exec(text)
      if (m?.[1]) this.facts.serverVersion = m[1]
    }
    if (this.facts.pgDumpVersion === null) {
      const m = PGDUMP_RE.exec(text)
      if (m?.[1]) this.facts.pgDumpVersion = m[1]
    }
  }

  private afterTrailer(buf: Buffer, start: number, end: number): void {
    if (this.facts.garbageAfterTrailer) return
    const text = buf.toString('utf8', start, Math.min(end, start + 200)).replace(/\r$/, '')
    // pg_dump 17.6+/15.14+ ends with "\unrestrict KEY" after the trailer
    if (/^\\unrestrict\s/.test(text)) return
    this.facts.garbageAfterTrailer = { line: this.lineNo, text: text.length > 60 ? `${text.slice(0, 60)}...` : text }
  }
}

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i]
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false
  }
  return true
}
