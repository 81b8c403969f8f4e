// The dump lexer: turns a stream of plain-SQL dump bytes into statements, COPY blocks and psql
// meta-commands, the way psql would split them, without ever holding more than one statement (or one
// input chunk of COPY data) in memory.
//
// It works on bytes, not characters: every delimiter that matters (quotes, $, ;, comment markers,
// backslash, newline) is ASCII, and in UTF-8 (and every other server encoding) no byte of a multi-byte
// character is ASCII, so a split can never land inside a character of a statement. Line numbers count
// '\n'; offsets are byte offsets into the (decompressed) input.
//
// Like psql, a ';' ends a statement only outside parentheses (a multi-action rule's `DO ( ...; ...; )`)
// and outside the BEGIN ... END of a CREATE FUNCTION/PROCEDURE's SQL-standard body (BEGIN ATOMIC),
// found with psql's own heuristic. Statements are decoded in the dump's client_encoding (its
// `SET client_encoding`), and bytes that are invalid in it are refused as the server would refuse them.
// Multi-byte encodings whose trailing bytes can be ASCII (SJIS, BIG5, GBK, UHC, GB18030) cannot be a
// server encoding and pg_dump never writes them; they are refused.
import { isUtf8 } from 'node:buffer'
import { DumpFormatError, TruncatedDumpError, UnknownMetaCommandError } from './errors.ts'

export type DumpItem =
  /** An SQL statement including its terminating semicolon; position is where its first byte is. */
  | { kind: 'statement'; sql: string; line: number; offset: number }
  /** A `COPY ... FROM stdin;` statement; copy-data items follow, then copy-end. */
  | { kind: 'copy-start'; sql: string; line: number; offset: number }
  /** Raw COPY data (text format rows, possibly cut mid-row); never includes the `\.` terminator. */
  | { kind: 'copy-data'; data: Buffer }
  /** The `\.` line; dataLine is the dump line of the first data row. */
  | { kind: 'copy-end'; line: number; offset: number; dataLine: number }
  /** A psql meta-command pg_dump writes: \connect, \restrict, \unrestrict (others raise). */
  | { kind: 'meta'; command: string; args: string; line: number; offset: number }
  /** A `--` comment between statements (first 256 bytes), e.g. the dump's header and trailer. */
  | { kind: 'comment'; text: string; line: number; offset: number }

export interface SplitOptions {
  /**
   * A statement longer than this is refused. Default (and most) 500 MiB: a statement becomes one
   * JavaScript string, and V8 caps those at 512 MiB.
   */
  maxStatementBytes?: number
}

/** Split a plain-SQL dump into items; throws TruncatedDumpError if the input ends inside one. */
export async function* splitStatements(input: AsyncIterable<Buffer | string>, opts: SplitOptions = {}): AsyncGenerator<DumpItem> {
  const lexer = new DumpLexer(opts)
  for await (const chunk of input) {
    yield* lexer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  }
  yield* lexer.end()
}

/** Meta-commands pg_dump writes, which the loader understands. */
export const KNOWN_META_COMMANDS = new Set(['\\connect', '\\c', '\\restrict', '\\unrestrict'])

const enum S {
  Between,
  BetweenLineComment,
  Meta,
  BetweenBlockComment,
  Normal,
  SQuote,
  EQuote,
  DQuote,
  Dollar,
  LineComment,
  BlockComment,
  CopyHeaderRest,
  CopyData,
}

const NL = 0x0a
const CR = 0x0d
const SQ = 0x27
const DQ = 0x22
const BS = 0x5c
const DOLLAR = 0x24
const DASH = 0x2d
const SLASH = 0x2f
const STAR = 0x2a
const SEMI = 0x3b
const DOT = 0x2e
const LPAREN = 0x28
const RPAREN = 0x29
/** The most a statement can be: one JavaScript string (V8's limit is 2^29 - 24 characters). */
export const MAX_STATEMENT_BYTES = 500 * 1024 * 1024
const COMMENT_KEEP = 256
const META_MAX = 64 * 1024

// Bytes the Normal state must look at; everything else is skipped in a tight loop.
const SPECIAL = new Uint8Array(256)
for (const c of [NL, SQ, DQ, DOLLAR, DASH, SLASH, SEMI, LPAREN, RPAREN, 0x45, 0x65, 0]) SPECIAL[c] = 1

const IDENT = new Uint8Array(256)
for (let c = 0; c < 256; c++) {
  IDENT[c] = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === DOLLAR || c >= 0x80 ? 1 : 0
}

const isSpace = (b: number) => b === 0x20 || b === NL || b === 0x09 || b === CR || b === 0x0c || b === 0x0b

/** The synchronous lexer behind splitStatements: push() chunks, then end(). */
export class DumpLexer {
  private state = S.Between
  private line = 1
  /** Byte offset of data[0] of the chunk being scanned. */
  private base = 0
  private carry: Buffer = Buffer.alloc(0)

  // the statement being accumulated
  private pieces: Buffer[] = []
  private pieceBytes = 0
  private stmtLine = 0
  private stmtOffset = 0
  private prevIdent = false
  private loneE = false
  private closedE = false
  private escapeNext = false
  private commentDepth = 0
  private commentLast = 0
  private commentReturn = S.Normal
  private dollarDelim: Buffer = Buffer.alloc(0)
  private standardStrings = true
  private encoding: DumpEncoding = UTF8_ENCODING
  private parenDepth = 0
  // psql's BEGIN ATOMIC heuristic: the statement's first identifiers (their first letters, for
  // CREATE [OR REPLACE] FUNCTION|PROCEDURE), how many identifiers, and the BEGIN/CASE ... END depth
  private track = false
  private words = ''
  private wordCount = 0
  private word = ''
  private inWord = false
  private beginDepth = 0

  // the comment or meta-command being accumulated between statements
  private textPieces: Buffer[] = []
  private textBytes = 0
  private textLine = 0
  private textOffset = 0

  private copyDataLine = 0
  private atLineStart = true

  private readonly maxStatementBytes: number

  constructor(opts: SplitOptions = {}) {
    this.maxStatementBytes = Math.min(opts.maxStatementBytes ?? MAX_STATEMENT_BYTES, MAX_STATEMENT_BYTES)
  }

  /** Total bytes fully scanned so far. */
  get bytesScanned(): number {
    return this.base
  }

  push(chunk: Buffer): DumpItem[] {
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk
    this.carry = Buffer.alloc(0)
    return this.scan(data, false)
  }

  end(): DumpItem[] {
    const out = this.carry.length ? this.scan(this.carry, true) : []
    this.carry = Buffer.alloc(0)
    const pos = { line: this.line, offset: this.base }
    switch (this.state) {
      case S.Between:
        break
      case S.BetweenLineComment:
      case S.Meta:
        this.finishText(out)
        break
      case S.BetweenBlockComment:
        throw new TruncatedDumpError('the dump ends inside a /* comment', { position: pos })
      case S.CopyHeaderRest:
      case S.CopyData:
        throw new TruncatedDumpError(`the dump ends inside the COPY data that starts at line ${this.copyDataLine} (no \\. terminator)`, {
          position: pos,
        })
      default: {
        const what =
          this.state === S.SQuote || this.state === S.EQuote
            ? 'an unterminated quoted string'
            : this.state === S.DQuote
              ? 'an unterminated quoted identifier'
              : this.state === S.Dollar
                ? `an unterminated dollar-quoted string (${this.dollarDelim.toString()})`
                : this.state === S.BlockComment
                  ? 'an unterminated /* comment'
                  : 'a statement without its terminating semicolon'
        throw new TruncatedDumpError(`the dump ends inside ${what}; the statement started at line ${this.stmtLine} (byte offset ${this.stmtOffset})`, {
          position: pos,
          statement: this.statementExcerpt(),
        })
      }
    }
    return out
  }

  private chunk?: Buffer
  private chunkLength = 0

  private scan(data: Buffer, eof: boolean): DumpItem[] {
    const out: DumpItem[] = []
    const n = data.length
    this.chunk = data
    this.chunkLength = n
    let i = 0
    // start of the current statement's bytes within data, -1 when not in a statement
    let seg = this.inStatement() ? 0 : -1
    let copySeg = this.state === S.CopyData ? 0 : -1

    scan: while (i < n) {
      switch (this.state) {
        case S.Between: {
          const b = data[i]!
          if (isSpace(b)) {
            if (b === NL) this.line++
            i++
          } else if (b === DASH || b === SLASH) {
            if (i + 1 >= n && !eof) break scan
            const next = i + 1 < n ? data[i + 1] : -1
            if (b === DASH && next === DASH) {
              this.beginText(i, S.BetweenLineComment)
              i += 2
            } else if (b === SLASH && next === STAR) {
              this.state = S.BetweenBlockComment
              this.commentDepth = 1
              this.commentLast = 0
              this.commentReturn = S.Between
              i += 2
            } else {
              seg = this.beginStatement(i)
            }
          } else if (b === BS) {
            this.beginText(i, S.Meta)
          } else if (b === 0xef && this.base + i === 0) {
            // a UTF-8 byte-order mark (editors add it): psql passes over it, and so do we
            if (n < 3 && !eof) break scan
            if (data[1] === 0xbb && data[2] === 0xbf) i += 3
            else seg = this.beginStatement(i)
          } else {
            if (this.base + i === 0) this.checkMagic(data)
            seg = this.beginStatement(i)
          }
          break
        }
        case S.BetweenLineComment:
        case S.Meta: {
          const j = data.indexOf(NL, i)
          const end = j < 0 ? n : j
          this.addText(data.subarray(i, end))
          if (j < 0) {
            i = n
          } else {
            this.finishText(out)
            this.line++
            i = j + 1
            this.state = S.Between
          }
          break
        }
        case S.Normal: {
          let prevIdent = this.prevIdent
          let loneE = this.loneE
          // true only right after an E'' string closed: a quote there continues it ('' escape)
          let closedE = this.closedE
          const track = this.track
          while (i < n) {
            const b = data[i]!
            if (track) this.trackWord(b, prevIdent)
            if (SPECIAL[b] === 0) {
              loneE = false
              closedE = false
              prevIdent = IDENT[b] === 1
              i++
              continue
            }
            if (b === NL) {
              this.line++
              loneE = false
              prevIdent = false
              i++
            } else if (b === SEMI) {
              i++
              if (this.parenDepth > 0 || this.beginDepth > 0) {
                prevIdent = false
                loneE = false
                closedE = false
                continue
              }
              this.prevIdent = false
              this.loneE = false
              this.finishStatement(data, seg, i, out)
              seg = -1
              continue scan
            } else if (b === LPAREN || b === RPAREN) {
              if (b === LPAREN) this.parenDepth++
              else if (this.parenDepth > 0) this.parenDepth--
              prevIdent = false
              loneE = false
              closedE = false
              i++
              continue
            } else if (b === SQ) {
              this.state = loneE || closedE || !this.standardStrings ? S.EQuote : S.SQuote
              this.escapeNext = false
              i++
              this.prevIdent = false
              this.loneE = false
              this.closedE = false
              continue scan
            } else if (b === DQ) {
              this.state = S.DQuote
              i++
              this.prevIdent = false
              this.loneE = false
              this.closedE = false
              continue scan
            } else if (b === DASH || b === SLASH) {
              if (i + 1 >= n && !eof) {
                this.prevIdent = prevIdent
                this.loneE = loneE
                this.closedE = closedE
                break scan
              }
              const next = i + 1 < n ? data[i + 1] : -1
              if (b === DASH && next === DASH) {
                this.state = S.LineComment
              } else if (b === SLASH && next === STAR) {
                this.state = S.BlockComment
                this.commentDepth = 1
                this.commentLast = 0
                this.commentReturn = S.Normal
              } else {
                loneE = false
                closedE = false
                prevIdent = false
                i++
                continue
              }
              i += 2
              this.prevIdent = false
              this.loneE = false
              this.closedE = false
              continue scan
            } else if (b === DOLLAR) {
              if (prevIdent) {
                // part of an identifier like a$b
                loneE = false
                closedE = false
                i++
                continue
              }
              const r = this.dollarTag(data, i, eof)
              if (r === -1) {
                this.prevIdent = prevIdent
                this.loneE = loneE
                this.closedE = closedE
                break scan
              }
              if (r === 0) {
                // $1 parameter or a lone $
                loneE = false
                closedE = false
                prevIdent = true
                i++
                continue
              }
              this.dollarDelim = Buffer.from(data.subarray(i, r))
              this.state = S.Dollar
              i = r
              this.prevIdent = false
              this.loneE = false
              this.closedE = false
              continue scan
            } else if (b === 0) {
              throw this.binaryError(i)
            } else {
              // E or e: an E'' string prefix when it starts a token
              loneE = !prevIdent
              prevIdent = true
              i++
            }
            closedE = false
          }
          this.prevIdent = prevIdent
          this.loneE = loneE
          this.closedE = closedE
          break
        }
        case S.SQuote:
        case S.DQuote: {
          const q = this.state === S.SQuote ? SQ : DQ
          const j = data.indexOf(q, i)
          const end = j < 0 ? n : j
          this.line += countNewlines(data, i, end)
          if (j < 0) {
            i = n
          } else {
            // a doubled quote ('' or "") is read as close + reopen, which needs no lookahead
            i = j + 1
            this.state = S.Normal
            this.prevIdent = q === DQ
            this.loneE = false
          }
          break
        }
        case S.EQuote: {
          while (i < n) {
            const b = data[i]!
            i++
            if (b === NL) this.line++
            if (this.escapeNext) {
              this.escapeNext = false
            } else if (b === BS) {
              this.escapeNext = true
            } else if (b === SQ) {
              this.state = S.Normal
              this.closedE = true
              this.prevIdent = false
              this.loneE = false
              continue scan
            }
          }
          break
        }
        case S.Dollar: {
          const delim = this.dollarDelim
          const j = data.indexOf(delim, i)
          if (j >= 0) {
            this.line += countNewlines(data, i, j)
            i = j + delim.length
            this.state = S.Normal
            this.prevIdent = false
            this.loneE = false
            break
          }
          // keep the last delim.length-1 bytes: the closing tag may straddle chunks
          const safe = eof ? n : Math.max(i, n - (delim.length - 1))
          this.line += countNewlines(data, i, safe)
          i = safe
          if (i < n) break scan
          break
        }
        case S.LineComment: {
          const j = data.indexOf(NL, i)
          if (j < 0) {
            i = n
          } else {
            this.line++
            i = j + 1
            this.state = S.Normal
            this.prevIdent = false
            this.loneE = false
          }
          break
        }
        case S.BlockComment:
        case S.BetweenBlockComment: {
          while (i < n) {
            const b = data[i]!
            i++
            if (b === NL) this.line++
            if (this.commentLast === SLASH && b === STAR) {
              this.commentDepth++
              this.commentLast = 0
            } else if (this.commentLast === STAR && b === SLASH) {
              this.commentLast = 0
              if (--this.commentDepth === 0) {
                this.state = this.commentReturn
                this.prevIdent = false
                this.loneE = false
                continue scan
              }
            } else {
              this.commentLast = b
            }
          }
          break
        }
        case S.CopyHeaderRest: {
          // the rest of the COPY statement's line; data starts on the next line
          const j = data.indexOf(NL, i)
          const end = j < 0 ? n : j
          for (let k = i; k < end; k++) {
            if (!isSpace(data[k]!)) {
              throw new DumpFormatError('unexpected text after a COPY ... FROM stdin statement on the same line', {
                position: { line: this.line, offset: this.base + k },
              })
            }
          }
          if (j < 0) {
            i = n
          } else {
            this.line++
            i = j + 1
            this.state = S.CopyData
            this.atLineStart = true
            this.copyDataLine = this.line
            copySeg = i
          }
          break
        }
        case S.CopyData: {
          if (copySeg < 0) copySeg = i
          while (i < n) {
            if (this.atLineStart && data[i] === BS) {
              // a data line that is exactly \. (\r\n tolerated) ends the block
              if (i + 2 >= n && !eof) {
                if (i + 1 >= n || data[i + 1] === DOT) {
                  pushCopy(out, data, copySeg, i)
                  copySeg = -1
                  break scan
                }
              }
              if (data[i + 1] === DOT) {
                let k = i + 2
                if (k < n && data[k] === CR) {
                  if (k + 1 >= n && !eof) {
                    pushCopy(out, data, copySeg, i)
                    copySeg = -1
                    break scan
                  }
                  k++
                }
                if (k >= n || data[k] === NL) {
                  pushCopy(out, data, copySeg, i)
                  copySeg = -1
                  out.push({ kind: 'copy-end', line: this.line, offset: this.base + i, dataLine: this.copyDataLine })
                  this.line++
                  i = k < n ? k + 1 : n
                  this.state = S.Between
                  continue scan
                }
              }
            }
            const j = data.indexOf(NL, i)
            if (j < 0) {
              i = n
              this.atLineStart = false
            } else {
              this.line++
              i = j + 1
              this.atLineStart = true
            }
          }
          pushCopy(out, data, copySeg, n)
          copySeg = -1
          break
        }
      }
    }

    // keep what was not scanned for the next chunk
    if (seg >= 0 && this.inStatement()) this.addPiece(data.subarray(seg, i))
    if (copySeg >= 0 && this.state === S.CopyData) pushCopy(out, data, copySeg, i)
    this.carry = i < n ? Buffer.from(data.subarray(i)) : Buffer.alloc(0)
    this.base += i
    this.chunk = undefined
    return out
  }

  private inStatement(): boolean {
    return this.state >= S.Normal && this.state <= S.BlockComment
  }

  private beginStatement(i: number): number {
    this.pieces = []
    this.pieceBytes = 0
    this.stmtLine = this.line
    this.stmtOffset = this.base + i
    this.state = S.Normal
    this.prevIdent = false
    this.loneE = false
    this.closedE = false
    this.parenDepth = 0
    this.beginDepth = 0
    this.words = ''
    this.wordCount = 0
    this.word = ''
    this.inWord = false
    // only a statement starting with C can be CREATE FUNCTION/PROCEDURE: the others skip the tracking
    this.track = i < this.chunkLength && (this.chunk![i]! | 0x20) === 0x63
    return i
  }

  /** Feed one byte of a tracked statement's Normal text (psql's identifier-based BEGIN/END counting). */
  private trackWord(b: number, prevIdent: boolean): void {
    if (IDENT[b] === 1 && (this.inWord || (!prevIdent && !(b >= 0x30 && b <= 0x39) && b !== DOLLAR))) {
      this.inWord = true
      if (this.word.length < 10) this.word += String.fromCharCode(b | 0x20)
      return
    }
    if (!this.inWord) return
    this.inWord = false
    const w = this.word
    this.word = ''
    if (this.wordCount < 4 && (w === 'create' || w === 'function' || w === 'procedure' || w === 'or' || w === 'replace')) {
      this.words = this.words.padEnd(this.wordCount, ' ') + w[0]
    }
    this.wordCount++
    if (this.parenDepth === 0 && /^c(f|p|or[fp])/.test(this.words)) {
      if (w === 'begin') this.beginDepth++
      else if (w === 'case') {
        if (this.beginDepth >= 1) this.beginDepth++
      } else if (w === 'end' && this.beginDepth > 0) this.beginDepth--
    }
  }

  private addPiece(buf: Buffer): void {
    if (buf.length === 0) return
    this.pieceBytes += buf.length
    if (this.pieceBytes > this.maxStatementBytes) {
      throw new DumpFormatError(
        `a statement longer than ${this.maxStatementBytes} bytes (the most the loader holds as one statement) starts at line ${this.stmtLine} (byte offset ${this.stmtOffset})`,
        {
          position: { line: this.stmtLine, offset: this.stmtOffset },
          statement: this.statementExcerpt(),
          fix: 'if the statement really is that long, load the dump with psql -f, or dump that table as COPY data (pg_dump without --inserts); otherwise the dump has an unterminated quote from the position shown',
        },
      )
    }
    this.pieces.push(buf)
  }

  private finishStatement(data: Buffer, seg: number, end: number, out: DumpItem[]): void {
    this.addPiece(data.subarray(seg, end))
    const bytes = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces)
    this.pieces = []
    this.pieceBytes = 0
    const pos = { line: this.stmtLine, offset: this.stmtOffset }
    const sql = this.decode(bytes, pos)
    if (COPY_FROM_STDIN.test(sql)) {
      out.push({ kind: 'copy-start', sql, ...pos })
      this.state = S.CopyHeaderRest
      return
    }
    const scs = STANDARD_STRINGS.exec(sql)
    if (scs) this.standardStrings = !/^(off|false|no|0)$/i.test(scs[1]!)
    const enc = CLIENT_ENCODING.exec(sql)
    if (enc) this.encoding = dumpEncoding(enc[1]!, pos)
    out.push({ kind: 'statement', sql, ...pos })
    this.state = S.Between
  }

  private beginText(i: number, state: S.BetweenLineComment | S.Meta): void {
    this.state = state
    this.textPieces = []
    this.textBytes = 0
    this.textLine = this.line
    this.textOffset = this.base + i
  }

  private addText(buf: Buffer): void {
    const limit = this.state === S.Meta ? META_MAX : COMMENT_KEEP
    if (this.textBytes >= limit) {
      if (this.state === S.Meta) {
        throw new DumpFormatError('a line starting with a backslash is longer than 64 KiB: the dump is garbled', {
          position: { line: this.textLine, offset: this.textOffset },
        })
      }
      return
    }
    const take = buf.subarray(0, limit - this.textBytes)
    this.textPieces.push(Buffer.from(take))
    this.textBytes += take.length
  }

  private finishText(out: DumpItem[]): void {
    const text = Buffer.concat(this.textPieces).toString('utf8').replace(/\r$/, '').trim()
    this.textPieces = []
    const pos = { line: this.textLine, offset: this.textOffset }
    if (this.state === S.BetweenLineComment) {
      out.push({ kind: 'comment', text, ...pos })
      return
    }
    const m = /^(\\[^\s]*)\s*(.*)$/.exec(text)
    const command = m?.[1] ?? text
    if (!KNOWN_META_COMMANDS.has(command)) throw new UnknownMetaCommandError(command, { position: pos, statement: text.slice(0, 300) })
    out.push({ kind: 'meta', command, args: m?.[2] ?? '', ...pos })
  }

  /** End of a dollar-quote opening tag at data[i] ('$'): its end index, 0 if not a tag, -1 if more data is needed. */
  private dollarTag(data: Buffer, i: number, eof: boolean): number {
    const n = data.length
    let j = i + 1
    if (j >= n) return eof ? 0 : -1
    if (data[j] === DOLLAR) return j + 1
    const first = data[j]!
    // tags start like identifiers, never with a digit ($1 is a parameter)
    if (!(IDENT[first] === 1 && first !== DOLLAR && !(first >= 0x30 && first <= 0x39))) return 0
    while (j < n && IDENT[data[j]!] === 1 && data[j] !== DOLLAR) j++
    if (j >= n) return eof ? 0 : -1
    return data[j] === DOLLAR ? j + 1 : 0
  }

  private checkMagic(data: Buffer): void {
    if (data[0] === 0x1f && data[1] === 0x8b) {
      throw new DumpFormatError('the input is gzip-compressed, not plain SQL', { position: { line: 1, offset: 0 } })
    }
    if (data.subarray(0, 5).toString('latin1') === 'PGDMP') {
      throw new DumpFormatError('the input is a custom-format pg_dump archive, not a plain-SQL dump', { position: { line: 1, offset: 0 } })
    }
  }

  private binaryError(i: number): DumpFormatError {
    return new DumpFormatError('a NUL byte inside SQL: the input is binary, not a plain-SQL dump', {
      position: { line: this.line, offset: this.base + i },
    })
  }

  /** The statement's text, decoded in the dump's client_encoding; invalid bytes are refused. */
  private decode(bytes: Buffer, pos: { line: number; offset: number }): string {
    const { name, decoder } = this.encoding
    if (decoder === 'utf8') {
      if (isUtf8(bytes)) return bytes.toString('utf8')
    } else if (decoder === 'latin1') {
      return bytes.toString('latin1')
    } else {
      try {
        return decoder.decode(bytes)
      } catch {
        // reported below
      }
    }
    const text = bytes.toString('utf8')
    throw new DumpFormatError(`invalid byte sequence for encoding "${name}" in the statement at line ${pos.line} (byte offset ${pos.offset}); the server would refuse it`, {
      position: pos,
      statement: text.replace(/\s+/g, ' ').trim().slice(0, 300),
      fix: `the dump's text is not in ${name}: correct its SET client_encoding line to the encoding the file is really in, or re-encode the file (iconv)`,
    })
  }

  private statementExcerpt(): string {
    const head = Buffer.concat(this.pieces.slice(0, 4)).subarray(0, 300).toString('utf8')
    return head.replace(/\s+/g, ' ').trim()
  }
}

const COPY_FROM_STDIN = /^COPY\s[\s\S]*\sFROM\s+stdin\b[\s\S]*;$/i
const CLIENT_ENCODING = /^SET\s+(?:SESSION\s+)?client_encoding\s*(?:=|TO)\s*'?([\w-]+)'?\s*;$/i
const STANDARD_STRINGS = /^SET\s+(?:SESSION\s+)?standard_conforming_strings\s*(?:=|TO)\s*'?(\w+)'?\s*;$/i

export interface DumpEncoding {
  /** PostgreSQL's name, as the dump wrote it. */
  name: string
  decoder: 'utf8' | 'latin1' | TextDecoder
}

const UTF8_ENCODING: DumpEncoding = { name: 'UTF8', decoder: 'utf8' }

// PostgreSQL client encodings whose every byte >= 0x80 (ASCII stays ASCII, so the byte-level split is
// right), by PostgreSQL's normalised name (lower case, alphanumerics only), as WHATWG labels
const WHATWG: Record<string, string> = {
  win866: 'ibm866', alt: 'ibm866', win874: 'windows-874', koi8r: 'koi8-r', koi8: 'koi8-r', koi8u: 'koi8-u',
  eucjp: 'euc-jp', euckr: 'euc-kr', euccn: 'gbk', iso88595: 'iso-8859-5', iso88596: 'iso-8859-6',
  iso88597: 'iso-8859-7', iso88598: 'iso-8859-8', latin2: 'iso-8859-2', iso88592: 'iso-8859-2',
  latin3: 'iso-8859-3', iso88593: 'iso-8859-3', latin4: 'iso-8859-4', iso88594: 'iso-8859-4',
  latin5: 'iso-8859-9', iso88599: 'iso-8859-9', latin6: 'iso-8859-10', iso885910: 'iso-8859-10',
  latin7: 'iso-8859-13', iso885913: 'iso-8859-13', latin8: 'iso-8859-14', iso885914: 'iso-8859-14',
  latin9: 'iso-8859-15', iso885915: 'iso-8859-15', latin10: 'iso-8859-16', iso885916: 'iso-8859-16',
}
for (let n = 1250; n <= 1258; n++) WHATWG[`win${n}`] = WHATWG[`windows${n}`] = `windows-${n}`

/** The decoder for a dump's `SET client_encoding`; an encoding the loader cannot split is refused. */
export function dumpEncoding(name: string, pos: { line: number; offset: number }): DumpEncoding {
  const key = name.toLowerCase().replace(/[^a-z0-9]/g, '')
  // SQL_ASCII: no conversion, so the bytes must already be valid in the (UTF-8) server encoding
  if (key === 'utf8' || key === 'unicode' || key === 'sqlascii') return { name, decoder: 'utf8' }
  // true ISO-8859-1 (WHATWG's "latin1" label means windows-1252)
  if (key === 'latin1' || key === 'iso88591') return { name, decoder: 'latin1' }
  const label = WHATWG[key]
  if (label) {
    try {
      return { name, decoder: new TextDecoder(label, { fatal: true }) }
    } catch {
      // this Node.js build lacks the encoding (small-icu): refused below
    }
  }
  throw new DumpFormatError(`the dump sets client_encoding '${name}' at line ${pos.line}, which the loader cannot read`, {
    position: pos,
    fix: 'dump with a UTF8 (or single-byte) client encoding (pg_dump --encoding=UTF8), or load this one with psql',
  })
}

function pushCopy(out: DumpItem[], data: Buffer, from: number, to: number): void {
  if (from >= 0 && to > from) out.push({ kind: 'copy-data', data: data.subarray(from, to) })
}

function countNewlines(data: Buffer, from: number, to: number): number {
  let count = 0
  let k = data.indexOf(NL, from)
  while (k >= 0 && k < to) {
    count++
    k = data.indexOf(NL, k + 1)
  }
  return count
}
