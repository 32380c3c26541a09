using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.Win32.SafeHandles;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Storage;

namespace PeerAgent.Bench.Micro;

/// <summary>
/// sha256 of a 4 MiB piece and of a 64 MiB blob, the three ways the product computes it: in one call
/// (<see cref="Digest.Compute"/>: small blobs and manifests put into the store), fed chunk by chunk as bytes arrive
/// (PieceWriter's piece hash and the streamed whole-blob hash), and read back from the file (FileHashing: the
/// whole-blob catch-up of pieces written out of order, recovery, and piece digests of committed blobs).
/// </summary>
[MemoryDiagnoser]
[ThroughputColumn(0)]
public class DigestBenchmarks
{
    private const int ChunkBytes = 1024 * 1024;

    private byte[] _content = [];
    private string _path = "";
    private SafeFileHandle _file = null!;

    [Params(4 * 1024 * 1024, 64 * 1024 * 1024)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _content = new byte[Bytes];
        new Random(1).NextBytes(_content);
        _path = Path.Combine(Path.GetTempPath(), "peeragent-micro-digest-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        File.WriteAllBytes(_path, _content);
        _file = File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _file.Dispose();
        File.Delete(_path);
    }

    [Benchmark(Baseline = true)]
    public Digest OneCall() => Digest.Compute(_content);

    /// <summary>1 MiB at a time into an IncrementalHash, as each peer chunk is written.</summary>
    [Benchmark]
    public Digest Chunked()
    {
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var at = 0; at < _content.Length; at += ChunkBytes)
        {
            hasher.AppendData(_content.AsSpan(at, Math.Min(ChunkBytes, _content.Length - at)));
        }

        Span<byte> hash = stackalloc byte[32];
        hasher.GetHashAndReset(hash);
        return Digest.FromHash("sha256", hash);
    }

    /// <summary>Read back from the file (page cache) in the store's 1 MiB pooled buffer and hashed.</summary>
    [Benchmark]
    public async Task<Digest> FromFile()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(FileHashing.BufferSize);
        try
        {
            using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await FileHashing.HashRangeAsync(_file, 0, _content.Length, buffer, hasher, default);
            Span<byte> hash = stackalloc byte[32];
            hasher.GetHashAndReset(hash);
            return Digest.FromHash("sha256", hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
