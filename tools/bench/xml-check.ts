// A tiny well-formedness check for the SVG the benchmark writes (tags balanced, attributes quoted, entities
// escaped): enough for the tests, without an XML parser as a dependency.
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const body = xml.replace(/^\s*<\?xml[^?]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let roots = 0;
  for (const m of body.matchAll(tag)) {
    const text = body.slice(last, m.index);
    if (/[<>]/.test(text)) problems.push(`stray markup before offset ${m.index}: ${text.slice(0, 40)}`);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text))
      problems.push(`unescaped & near ${m.index}`);
    if (stack.length === 0 && text.trim() !== '')
      problems.push(`text outside the root element: ${text.trim()}`);
    last = m.index + m[0].length;
    const [, closing, name = '', , selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
    } else if (!selfClosing) {
      if (stack.length === 0) roots += 1;
      stack.push(name);
    } else if (stack.length === 0) roots += 1;
  }
  const rest = body.slice(last);
  if (rest.trim() !== '') problems.push(`unparsed text at the end: ${rest.trim().slice(0, 40)}`);
  if (stack.length > 0) problems.push(`never closed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
