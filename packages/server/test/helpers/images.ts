/** A 3x2 PNG: the header is all the server reads for its size. */
export const PNG_3X2 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAYAAACddGYaAAAAEklEQVR42mP8z8DwnwEIGGEMAE/3Bf3Z0U8LAAAAAElFTkSuQmCC',
  'base64',
);
