/**
 * An incremental parser for the body of a Snowflake JSON result chunk: rows as JSON arrays
 * separated by commas, without enclosing brackets (`["1","a",null],["2","b","c"]`), every
 * value a string or null. Bytes are fed as they arrive from the network; each complete row
 * is written straight into the column batch, so no chunk is ever held whole in memory and
 * no object per row is made.
 *
 * Numeric columns (the epoch milliseconds the extract asks for) are read from the bytes as
 * numbers, without making a string; text columns are decoded from their bytes, escaped
 * strings through JSON.parse of that one value.
 */

/** Where parsed rows go: column arrays filled at index `n`, `commit()` once a row is complete. */
export interface RowSink {
  readonly columns: (number | string | null)[][];
  readonly n: number;
  commit(): void;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Thrown for a body that is not rows of the expected width. */
export class ChunkFormatError extends Error {}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Incomplete input: the row resumes when more bytes come. */
const MORE = -1;

export class ChunkRowParser {
  /** The start of a row cut by the end of the previous buffer. */
  private carry: Buffer | null = null;
  /** Rows parsed so far. */
  rows = 0;

  constructor(private readonly width: number, private readonly numeric: readonly boolean[], private readonly sink: RowSink) {}

  /** Parses every complete row in `data` (after what was carried over). */
  push(data: Buffer): void {
    const buf = this.carry ? Buffer.concat([this.carry, data]) : data;
    this.carry = null;
    const len = buf.length;
    let i = 0;
    for (;;) {
      while (i < len && (buf[i] === COMMA || isSpace(buf[i]))) i++;
      if (i >= len) return;
      if (buf[i] !== OPEN) throw new ChunkFormatError(`expected '[' at the start of row ${this.rows + 1}, found ${JSON.stringify(String.fromCharCode(buf[i]))}`);
      const end = this.row(buf, i + 1);
      if (end === MORE) {
        // Copied: a view would keep the whole network buffer alive.
        this.carry = Buffer.from(buf.subarray(i));
        return;
      }
      this.sink.commit();
      this.rows++;
      i = end;
    }
  }

  /** The body is complete: a row cut short is an error. */
  end(): void {
    if (this.carry && this.carry.some((b) => !isSpace(b))) throw new ChunkFormatError(`the chunk ends inside row ${this.rows + 1}`);
    this.carry = null;
  }

  /** Parses one row's values from `i` (just after '['); the index after ']', or MORE. */
  private row(buf: Buffer, i: number): number {
    const len = buf.length;
    const columns = this.sink.columns;
    const at = this.sink.n;
    for (let c = 0; ; c++) {
      while (i < len && isSpace(buf[i])) i++;
      if (i >= len) return MORE;
      if (c === 0 && buf[i] === CLOSE) throw new ChunkFormatError(`row ${this.rows + 1} is empty, expected ${this.width} values`);
      if (c >= this.width) throw new ChunkFormatError(`row ${this.rows + 1} has more than ${this.width} values`);
      const b = buf[i];
      if (b === QUOTE) {
        let j = i + 1;
        let escaped = false;
        while (j < len) {
          const x = buf[j];
          if (x === QUOTE) break;
          if (x === BACKSLASH) {
            escaped = true;
            j++;
          }
          j++;
        }
        if (j >= len) return MORE;
        columns[c][at] = this.numeric[c] ? numberOf(buf, i + 1, j, escaped) : escaped ? (JSON.parse(buf.toString('utf8', i, j + 1)) as string) : buf.toString('utf8', i + 1, j);
        i = j + 1;
      } else {
        // null, or a bare literal (a number, true, false): up to the next separator.
        let j = i;
        while (j < len && buf[j] !== COMMA && buf[j] !== CLOSE && !isSpace(buf[j])) j++;
        if (j >= len) return MORE;
        const token = buf.toString('latin1', i, j);
        columns[c][at] = token === 'null' ? null : this.numeric[c] ? Number(token) : token;
        i = j;
      }
      while (i < len && isSpace(buf[i])) i++;
      if (i >= len) return MORE;
      if (buf[i] === CLOSE) {
        if (c !== this.width - 1) throw new ChunkFormatError(`row ${this.rows + 1} has ${c + 1} values, expected ${this.width}`);
        return i + 1;
      }
      if (buf[i] !== COMMA) throw new ChunkFormatError(`expected ',' or ']' in row ${this.rows + 1}, found ${JSON.stringify(String.fromCharCode(buf[i]))}`);
      i++;
    }
  }
}

/** The number in buf[start, end): digits (and a sign) read directly, anything else through Number(). */
function numberOf(buf: Buffer, start: number, end: number, escaped: boolean): number {
  let i = start;
  const negative = buf[i] === MINUS;
  if (negative) i++;
  let v = 0;
  // Up to 15 digits are exact in a double; longer numbers go through Number().
  if (!escaped && i < end && end - i <= 15) {
    for (; i < end; i++) {
      const d = buf[i];
      if (d < ZERO || d > NINE) break;
      v = v * 10 + (d - ZERO);
    }
    if (i === end) return negative ? -v : v;
  }
  const text = escaped ? (JSON.parse(buf.toString('utf8', start - 1, end + 1)) as string) : buf.toString('latin1', start, end);
  return Number(text);
}
