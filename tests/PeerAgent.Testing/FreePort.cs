using System.Net;
using System.Net.Sockets;

namespace PeerAgent.Testing;

/// <summary>Finds a free loopback TCP port.</summary>
public static class FreePort
{
    /// <summary>Binds 127.0.0.1:0, reads the port the kernel chose and releases it.</summary>
    /// <remarks>Another process could take the port before the caller binds it; the ephemeral range makes that rare.</remarks>
    public static int Get()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
