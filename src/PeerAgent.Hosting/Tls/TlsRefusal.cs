namespace PeerAgent.Hosting.Tls;

/// <summary>Why a peer's certificate was refused (the <c>reason</c> label of <c>peeragent_tls_handshakes_refused_total</c>).</summary>
internal enum TlsRefusal
{
    None,

    /// <summary>The peer presented no certificate.</summary>
    NoCertificate,

    /// <summary>It does not chain to a CA in <c>Tls:CaFile</c> (another CA, self-signed, bad signature).</summary>
    Untrusted,

    /// <summary>It, or a certificate it chains through, is expired or not yet valid.</summary>
    Expired,

    /// <summary>Its extended key usage does not allow this side of TLS (serverAuth for servers, clientAuth for clients).</summary>
    WrongUsage,
}
