namespace PeerAgent.Scheduler; internal static class Placeholder { }
