using System.Globalization;
using System.Text.Json;
using PeerAgent.Agent.Peers;
using PeerAgent.Bench.PieceTransfer;

// Piece transfer benchmark: the peer gRPC data path against a raw socket, h2c vs TCP and TLS vs TLS, in one run.
// TLS is mutual on both transports, with the agent's own certificate handling (BenchTls).
// The driver (this process) is the downloading agent; it starts a second process, the serving agent, so each
// side's CPU time is its own process's. Both listen on 127.0.0.1 only.
return args.Length > 0 && args[0] == "serve"
    ? await Server.RunAsync(Options.Parse(args.AsSpan(1)))
    : await Driver.RunAsync(Options.Parse(args));

internal sealed record Options(long Bytes, int ChunkBytes, int Parallel, string Sink, string Dir, int WindowBytes, int Rounds, string? TlsDir = null)
{
    public static Options Parse(ReadOnlySpan<string> args)
    {
        long bytes = 1L << 30;
        var chunk = 1 << 20;
        var parallel = 2;
        var rounds = 3;
        var sink = "both";
        var window = PeerClient.StreamWindowBytes;
        var dir = Path.Combine(Path.GetTempPath(), "peeragent-bench-piece-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        string? tls = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--bytes": bytes = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "--chunk": chunk = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--parallel": parallel = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--sink": sink = value; break;
                case "--dir": dir = value; break;
                case "--window": window = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--tls": tls = value; break;
                default: throw new ArgumentException($"unknown option {args[i]} (known: --bytes --chunk --parallel --sink store|null|both --window --rounds --dir)");
            }
        }

        if (bytes is < 1 or > (1L << 31) - (1L << 20) || chunk is < PeerOptions.MinChunkBytes or > PeerOptions.MaxChunkBytes || parallel is < 1 or > 64 || rounds is < 1 or > 20 || sink is not ("store" or "null" or "both"))
        {
            throw new ArgumentException("--bytes 1..2 GiB-1 MiB, --chunk 16 KiB..4 MiB, --parallel 1..64, --rounds 1..20, --sink store|null|both");
        }

        return new Options(bytes, chunk, parallel, sink, dir, window, rounds, tls);
    }

    /// <summary>Where the driver writes the certificates of both sides.</summary>
    public string TlsRoot => TlsDir ?? Path.Combine(Dir, "tls");

    public string[] ToServerArgs() =>
        ["serve", "--bytes", Bytes.ToString(CultureInfo.InvariantCulture), "--chunk", ChunkBytes.ToString(CultureInfo.InvariantCulture), "--dir", Path.Combine(Dir, "server"), "--tls", TlsRoot];
}

internal static class Server
{
    public static async Task<int> RunAsync(Options options)
    {
        await using var server = await PieceServer.StartAsync(options.Dir, options.Bytes, options.ChunkBytes, options.TlsRoot);
        Console.WriteLine("READY " + JsonSerializer.Serialize(server.Info));

        // Runs until the driver closes our stdin (also when the driver dies).
        await Console.In.ReadToEndAsync();
        return 0;
    }
}
