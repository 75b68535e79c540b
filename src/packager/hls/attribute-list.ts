/** Attribute lists, RFC 8216bis §4.2. Values are typed so that quoting is never a caller's decision. */
export type AttributeValue =
  | { kind: 'string'; value: string } // quoted-string
  | { kind: 'enum'; value: string } // enumerated-string (unquoted)
  | { kind: 'int'; value: number } // decimal-integer
  | { kind: 'float'; value: number; digits?: number } // decimal-floating-point
  | { kind: 'resolution'; width: number; height: number };

export const q = (value: string): AttributeValue => ({ kind: 'string', value });
export const e = (value: string): AttributeValue => ({ kind: 'enum', value });
export const int = (value: number): AttributeValue => ({ kind: 'int', value });
export const float = (value: number, digits = 3): AttributeValue => ({ kind: 'float', value, digits });
export const yesNo = (value: boolean): AttributeValue => e(value ? 'YES' : 'NO');

export function formatFloat(value: number, digits: number): string {
  // Trim trailing zeros but keep at least one decimal digit where the value is fractional.
  const fixed = value.toFixed(digits);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

function formatValue(v: AttributeValue): string {
  switch (v.kind) {
    case 'string':
      // §4.2: a quoted-string cannot contain CR, LF or DQUOTE.
      if (/["\r\n]/.test(v.value)) throw new Error(`quoted-string cannot contain quotes or line breaks: ${JSON.stringify(v.value)}`);
      return `"${v.value}"`;
    case 'enum':
      if (/[",\s]/.test(v.value)) throw new Error(`enumerated-string cannot contain quotes, commas or whitespace: ${v.value}`);
      return v.value;
    case 'int':
      if (!Number.isInteger(v.value) || v.value < 0) throw new Error(`decimal-integer must be a non-negative integer: ${v.value}`);
      return String(v.value);
    case 'float':
      return formatFloat(v.value, v.digits ?? 3);
    case 'resolution':
      return `${v.width}x${v.height}`;
  }
}

/** Serialises attributes in the given order, skipping undefined entries. */
export function attributeList(attrs: ReadonlyArray<readonly [string, AttributeValue | undefined]>): string {
  return attrs
    .filter((a): a is readonly [string, AttributeValue] => a[1] !== undefined)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(',');
}
