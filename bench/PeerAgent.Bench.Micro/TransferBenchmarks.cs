using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using PeerAgent.Agent.Peers;
using PeerAgent.Bench.PieceTransfer;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Pieces;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Bench.Micro;

/// <summary>
/// One 4 MiB piece over the peer transport against a raw socket at the same security: gRPC h2c against plain TCP,
/// gRPC with mutual TLS against a raw mutual-TLS socket. The server and the clients are those of
/// bench/PeerAgent.Bench.PieceTransfer (PieceServer, PieceFetch, RawProtocol), here in one process: connections are
/// opened once, each operation fetches one piece and drops its bytes (transport only, no store), and Allocated counts
/// both ends. The Ratio column is the time against the raw socket of the same security.
/// </summary>
[MemoryDiagnoser]
[ThroughputColumn(PieceLayout.MinPieceSize)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TransferBenchmarks
{
    private const int PieceCount = 8;
    private const string Plain = "plain";
    private const string Tls = "tls";

    private readonly int _chunkBytes = new PeerOptions().ChunkBytes;
    private string _dir = "";
    private PieceServer _server = null!;
    private TransportSecurity _security = null!;
    private PeerClient _grpcH2c = null!;
    private PeerClient _grpcTls = null!;
    private RawProtocol.Connection _rawTcp = null!;
    private RawProtocol.Connection _rawTls = null!;
    private byte[] _rawBuffer = [];
    private Digest _digest;
    private PieceLayout _layout;
    private int _nextPiece;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _dir = Path.Combine(Path.GetTempPath(), "peeragent-micro-transfer-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var tlsRoot = Path.Combine(_dir, "tls");
        BenchTls.Create(tlsRoot);
        _server = await PieceServer.StartAsync(Path.Combine(_dir, "server"), (long)PieceCount * PieceLayout.MinPieceSize, _chunkBytes, tlsRoot);
        _digest = Digest.Parse(_server.Info.Digest);
        _layout = PieceLayout.For(_server.Info.Length);
        _security = BenchTls.Load(tlsRoot, BenchTls.Client);
        _grpcH2c = PieceFetch.CreateGrpcClient(_server.Info.GrpcAddress(tls: false), null, PeerClient.StreamWindowBytes);
        _grpcTls = PieceFetch.CreateGrpcClient(_server.Info.GrpcAddress(tls: true), _security, PeerClient.StreamWindowBytes);
        _rawTcp = await RawProtocol.Connection.OpenAsync(_server.Info.RawEndPoint(tls: false), null, default);
        _rawTls = await RawProtocol.Connection.OpenAsync(_server.Info.RawEndPoint(tls: true), PieceFetch.RawTlsOptions(_security), default);
        _rawBuffer = new byte[_chunkBytes];
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _rawTcp.DisposeAsync();
        await _rawTls.DisposeAsync();
        _grpcH2c.Dispose();
        _grpcTls.Dispose();
        _security.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Plain)]
    public Task<long> RawTcp() => FetchRawAsync(_rawTcp);

    [Benchmark]
    [BenchmarkCategory(Plain)]
    public async Task<long> GrpcH2c() => Check(await PieceFetch.GrpcToNullAsync(_grpcH2c, _digest, NextPiece(), default));

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Tls)]
    public Task<long> RawMutualTls() => FetchRawAsync(_rawTls);

    [Benchmark]
    [BenchmarkCategory(Tls)]
    public async Task<long> GrpcMutualTls() => Check(await PieceFetch.GrpcToNullAsync(_grpcTls, _digest, NextPiece(), default));

    private async Task<long> FetchRawAsync(RawProtocol.Connection connection)
    {
        var index = NextPiece();
        await connection.FetchAsync(index, _layout.LengthOf(index), _rawBuffer, static _ => ValueTask.CompletedTask, default);
        return _layout.LengthOf(index);
    }

    private int NextPiece()
    {
        var index = _nextPiece;
        _nextPiece = (index + 1) % _layout.PieceCount;
        return index;
    }

    private long Check(long got) =>
        got == _layout.PieceSize ? got : throw new InvalidOperationException($"a piece brought {got} bytes, not {_layout.PieceSize}");
}
