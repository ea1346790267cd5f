/** Initials on a colour picked from the name, with an optional presence dot. */
export function Avatar({ name, online }: { name: string; online?: boolean | undefined }) {
  const initials = name
    .split(/[\s._-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]!.toUpperCase())
    .join('');
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return (
    <span className="avatar" style={{ backgroundColor: `hsl(${hash % 360} 55% 48%)` }} aria-hidden="true">
      {initials || '?'}
      {online !== undefined && <span className={`presence-dot${online ? ' online' : ''}`} />}
    </span>
  );
}
