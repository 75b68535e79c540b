/** A tiny XML element tree and serialiser; attribute and text escaping lives only here. */
export interface XmlElement {
  name: string;
  attrs?: Record<string, string | number | boolean | undefined>;
  children?: Array<XmlElement | undefined>;
  text?: string;
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function el(name: string, attrs?: XmlElement['attrs'], children?: XmlElement['children']): XmlElement {
  return { name, attrs, children };
}

export function serializeXml(root: XmlElement): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  const walk = (node: XmlElement, depth: number): void => {
    const pad = '  '.repeat(depth);
    const attrs = Object.entries(node.attrs ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}="${escape(String(v))}"`)
      .join('');
    const kids = (node.children ?? []).filter((c): c is XmlElement => c !== undefined);
    if (kids.length === 0 && node.text === undefined) {
      out.push(`${pad}<${node.name}${attrs}/>\n`);
    } else if (kids.length === 0) {
      out.push(`${pad}<${node.name}${attrs}>${escape(node.text ?? '')}</${node.name}>\n`);
    } else {
      out.push(`${pad}<${node.name}${attrs}>\n`);
      for (const k of kids) walk(k, depth + 1);
      out.push(`${pad}</${node.name}>\n`);
    }
  };
  walk(root, 0);
  return out.join('');
}

/** xs:duration as used by the MPD (ISO/IEC 23009-1 §5.3.1.2), e.g. PT12.01S. */
export function isoDuration(seconds: number): string {
  const s = Math.round(seconds * 1000) / 1000;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = Math.round((s - h * 3600 - m * 60) * 1000) / 1000;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${rest || (!h && !m) ? `${rest}S` : ''}`;
}
