"""Flash image helpers: the RP2040 boot2 checksum and UF2 files.

UF2 (Microsoft's USB flashing format, used by the RP2040 boot ROM's BOOTSEL drive) is a
sequence of 512-byte blocks, each carrying 256 payload bytes and their target address.
"""

from __future__ import annotations

import struct

UF2_MAGIC_START0 = 0x0A324655
UF2_MAGIC_START1 = 0x9E5D5157
UF2_MAGIC_END = 0x0AB16F30
UF2_FLAG_FAMILY_ID = 0x00002000
UF2_PAYLOAD = 256


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2 (poly 0x04C11DB7, init 0xFFFFFFFF, not reflected, no final XOR).

    >>> hex(crc32_mpeg2(b"123456789"))
    '0x376e6e7'
    """
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def boot2_crc_ok(image: bytes) -> tuple[bool, int]:
    """Whether bytes 252..255 of a flash image hold the CRC of bytes 0..251; and that CRC."""
    want = crc32_mpeg2(image[:252])
    return struct.unpack_from("<I", image, 252)[0] == want, want


def to_uf2(image: bytes, base: int, family: int) -> bytes:
    """A UF2 file that writes ``image`` at ``base``, 256 bytes per block."""
    chunks = [image[i:i + UF2_PAYLOAD] for i in range(0, len(image), UF2_PAYLOAD)]
    blocks = []
    for n, chunk in enumerate(chunks):
        header = struct.pack("<8I", UF2_MAGIC_START0, UF2_MAGIC_START1, UF2_FLAG_FAMILY_ID,
                             base + n * UF2_PAYLOAD, UF2_PAYLOAD, n, len(chunks), family)
        data = chunk.ljust(476, b"\0")
        blocks.append(header + data + struct.pack("<I", UF2_MAGIC_END))
    return b"".join(blocks)
