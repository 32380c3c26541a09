namespace PeerAgent.Testing; internal static class Placeholder { }
