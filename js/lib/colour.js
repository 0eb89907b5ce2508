/**
 * Placeholder until the colour helper lands (replaced at merge).
 * @param {MediaStreamTrack} track
 */
export async function describeColourSpace(track) {
  return null;
}
