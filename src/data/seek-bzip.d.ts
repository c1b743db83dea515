// seek-bzip ships no types; only the synchronous whole-buffer decoder is used.
declare module "seek-bzip" {
  const Bunzip: { decode(input: Buffer | Uint8Array): Buffer };
  export default Bunzip;
}
