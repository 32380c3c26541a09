using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PeerAgent.Testing;

/// <summary>Finds a free TCP port for a child process to listen on.</summary>
/// <remarks>
/// The port is picked below the kernel's ephemeral range (<c>ip_local_port_range</c>). A port the kernel handed out
/// with <c>bind(0)</c> is one it may hand out again at once as the source port of any outgoing connection, from this
/// test run or a test project running beside it; the child process then fails to bind and exits before it is ready.
/// Below the range only another explicit bind can take it, so the remaining race is two test processes picking the
/// same random port in the moment between the check here and the child's bind.
/// </remarks>
public static class FreePort
{
    private const int Lowest = 10_000;
    private const int Attempts = 200;

    private static readonly Lock Gate = new();
    private static readonly HashSet<int> HandedOut = [];
    private static readonly int Highest = ReadEphemeralLow() - 1;

    /// <summary>A port no listener holds on any address right now and that this process never returned before.</summary>
    public static int Get()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < Attempts; attempt++)
            {
                var port = Random.Shared.Next(Lowest, Highest + 1);
                if (!HandedOut.Contains(port) && CanBind(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"No free TCP port found in {Lowest}-{Highest} after {Attempts} attempts.");
    }

    private static bool CanBind(int port)
    {
        try
        {
            // 0.0.0.0 conflicts with a listener on any IPv4 address, 127.0.0.1 included.
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int ReadEphemeralLow()
    {
        const int DefaultLow = 32_768;
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            var low = int.Parse(text.Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
            return low > Lowest + 1_000 ? low : DefaultLow;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return DefaultLow;
        }
    }
}
