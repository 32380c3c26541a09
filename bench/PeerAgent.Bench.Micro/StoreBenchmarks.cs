using System.Buffers;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using PeerAgent.Agent.Peers;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;

namespace PeerAgent.Bench.Micro;

/// <summary>
/// The piece store on a temp directory: a 4 MiB piece written into a <see cref="PartialBlob"/> the way a download
/// writes it, and a piece read back from a committed blob the way the peer service serves it.
/// </summary>
/// <remarks>
/// Writing is measured over a whole 64 MiB blob of 16 pieces written in order and reported per piece
/// (OperationsPerInvoke): opening the partial (preallocated data file, first metadata write) and discarding it are
/// spread over its pieces as in a real download. In-order writing is the common case and also streams every byte
/// into the whole-blob hash, so each byte is hashed twice. Commit (whole-blob check, one fsync, rename) is left out:
/// it happens once per blob and its fsync measures the disk, not our code.
/// </remarks>
[MemoryDiagnoser]
[ThroughputColumn(PieceLayout.MinPieceSize)]
public class StoreBenchmarks
{
    private const int PieceCount = 16;

    private readonly int _chunkBytes = new PeerOptions().ChunkBytes;
    private readonly byte[] _content = new byte[PieceCount * PieceLayout.MinPieceSize];
    private string _root = "";
    private ContentStore _writeStore = null!;
    private ContentStore _readStore = null!;
    private Digest _blob;
    private PieceLayout _layout;
    private Digest[] _pieceDigests = [];
    private int _nextPiece;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Path.Combine(Path.GetTempPath(), "peeragent-micro-store-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        new Random(1).NextBytes(_content);
        _blob = Digest.Compute(_content);
        _layout = PieceLayout.For(_content.Length);
        _pieceDigests = new Digest[_layout.PieceCount];
        for (var i = 0; i < _layout.PieceCount; i++)
        {
            _pieceDigests[i] = Digest.Compute(_content.AsSpan((int)_layout.OffsetOf(i), _layout.LengthOf(i)));
        }

        // Two stores: the write benchmark must find the blob absent every time, the read benchmark committed.
        _writeStore = new ContentStore(new ContentStoreOptions { RootPath = Path.Combine(_root, "write"), QuotaBytes = 1L << 30 }, TimeProvider.System);
        await _writeStore.InitializeAsync(default);
        _readStore = new ContentStore(new ContentStoreOptions { RootPath = Path.Combine(_root, "read"), QuotaBytes = 1L << 30 }, TimeProvider.System);
        await _readStore.InitializeAsync(default);
        await _readStore.PutAsync(_blob, _content, default);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writeStore.Dispose();
        _readStore.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>One piece: BeginPiece, 1 MiB writes (the peer chunk size), CompleteAsync against the expected sha256.</summary>
    [Benchmark(OperationsPerInvoke = PieceCount)]
    public async Task WritePiece()
    {
        if (_writeStore.TryOpenPartial(_blob, _layout.Length, out var partial) != PartialOpenResult.Opened)
        {
            throw new InvalidOperationException("the write store did not open a fresh partial blob");
        }

        using (partial)
        {
            for (var i = 0; i < _layout.PieceCount; i++)
            {
                var writer = partial!.BeginPiece(i);
                var offset = (int)_layout.OffsetOf(i);
                var end = offset + _layout.LengthOf(i);
                for (var at = offset; at < end; at += _chunkBytes)
                {
                    await writer.WriteAsync(_content.AsMemory(at, Math.Min(_chunkBytes, end - at)), default);
                }

                await writer.CompleteAsync(_pieceDigests[i], default);
            }

            partial!.Discard();
        }
    }

    /// <summary>One piece: a read lease, 1 MiB positional reads into a pooled buffer (as PeerService does per request).</summary>
    [Benchmark]
    public async Task<long> ReadPiece()
    {
        var index = _nextPiece;
        _nextPiece = (index + 1) % _layout.PieceCount;
        if (!_readStore.TryOpenRead(_blob, out var reader))
        {
            throw new InvalidOperationException("the read store lost its blob");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(_chunkBytes);
        try
        {
            using (reader)
            {
                var offset = _layout.OffsetOf(index);
                long remaining = _layout.LengthOf(index);
                while (remaining > 0)
                {
                    var read = await reader.ReadAsync(offset, buffer.AsMemory(0, (int)Math.Min(_chunkBytes, remaining)), default);
                    if (read == 0)
                    {
                        throw new EndOfStreamException($"piece {index} ended {remaining} bytes short");
                    }

                    offset += read;
                    remaining -= read;
                }

                return offset;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
