/**
 * A person's (or a conversation's) picture: their avatar image when there is one (`src`, an object
 * URL from AvatarImages), else initials on a colour picked from the name; with an optional
 * presence dot.
 */
export function Avatar({
  name,
  online,
  src,
  size,
}: {
  name: string;
  online?: boolean | undefined;
  src?: string | undefined;
  size?: 'large' | undefined;
}) {
  const initials = name
    .split(/[\s._-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]!.toUpperCase())
    .join('');
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return (
    <span
      className={`avatar${size ? ` ${size}` : ''}${src ? ' has-image' : ''}`}
      style={src ? undefined : { backgroundColor: initialsBackground(hash % 360) }}
      aria-hidden="true"
    >
      {src ? <img src={src} alt="" /> : initials || '?'}
      {online !== undefined && <span className={`presence-dot${online ? ' online' : ''}`} />}
    </span>
  );
}

/**
 * A colour of the given hue at one perceived lightness (OKLCH), so white initials keep at least
 * 4.5:1 contrast whatever the hue (HSL's yellows and greens were too light for white text).
 */
function initialsBackground(hue: number): string {
  return `oklch(50% 0.13 ${hue})`;
}
