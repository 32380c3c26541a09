namespace PeerAgent.Agent; internal static class Program { private static void Main() { } }
