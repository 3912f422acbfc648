/** The first slab of a stream: small, as most commands print little (or nothing, on stderr). */
const FIRST_SLAB_BYTES = 4 * 1024;
/** Slabs grow fourfold up to this size. */
const MAX_SLAB_BYTES = 256 * 1024;
/** A new slab is started when less than this is left in the current one. */
const MIN_READ_BYTES = 1024;

/**
 * Read buffers for one stream: each read lands in the free space after the previous one, in a few
 * larger buffers (one allocation per slab instead of one per read), and what it returns is kept as
 * is: no copy. A slab is freed once no chunk in it is referenced any more; the output log drops its
 * chunks oldest first, so slabs go in the order they came.
 */
export class OutputSlabs {
  private slab: Buffer;
  private used = 0;
  private nextBytes: number;

  constructor() {
    this.slab = Buffer.allocUnsafeSlow(FIRST_SLAB_BYTES);
    this.nextBytes = FIRST_SLAB_BYTES * 4;
  }

  /** Where the next read goes: the free space of the current slab (a new one when it runs low). */
  space(): Buffer {
    if (this.slab.length - this.used < MIN_READ_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(this.nextBytes);
      this.nextBytes = Math.min(this.nextBytes * 4, MAX_SLAB_BYTES);
      this.used = 0;
    }
    return this.slab.subarray(this.used);
  }

  /** The `length` bytes just read into {@link space}, as a buffer of their own. */
  commit(length: number): Buffer {
    const start = this.used;
    this.used = start + length;
    return this.slab.subarray(start, this.used);
  }
}
