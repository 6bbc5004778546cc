using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ActorCkpt;

/// <summary>The TLS pieces of the bulk channel: the node's certificate, and how a peer's is checked.</summary>
internal static class BulkTls
{
    /// <summary>The node's certificate with its key, from <paramref name="tls"/>'s PEM files; one clear line when they are not.</summary>
    public static X509Certificate2 LoadCertificate(BulkChannelTls tls)
    {
        RequireFile("actorckpt.transfer.channel.tls.certificate", tls.CertificateFile);
        RequireFile("actorckpt.transfer.channel.tls.key", tls.KeyFile);
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(tls.CertificateFile, tls.KeyFile);
            // SslStream on Linux wants a certificate whose key is not ephemeral: export and reload it.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new ArgumentException($"actorckpt.transfer.channel.tls: cannot load the certificate '{tls.CertificateFile}' with key '{tls.KeyFile}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Loads every file <paramref name="tls"/> names (certificate and key, trust), throwing the line
    /// their first use would: for a node's start, which would otherwise find a bad file only at the
    /// first transfer, and fail every file of that save with it after the writers' retries.
    /// </summary>
    public static void Check(BulkChannelTls tls)
    {
        LoadCertificate(tls).Dispose();
        LoadTrust(tls)?.Dispose();
    }

    /// <summary>
    /// Refuses a file that is there but is no regular file (links followed), naming what it is: the
    /// loaders say "ASN1 corrupted data" of a directory, and would wait on a FIFO for good.
    /// </summary>
    private static void RequireFile(string key, string file)
    {
        if (RegularFile.Kind(RealPath.Of(file)) is var kind and not (FileKind.Regular or FileKind.Missing))
            throw new ArgumentException($"{key}: '{file}' is {NotARegularFileException.Describe(kind)}, not a PEM file");
    }

    /// <summary>Client options for a connection to <paramref name="host"/>: the peer's certificate must chain to the trust file (or the system's store) and carry the expected name.</summary>
    public static SslClientAuthenticationOptions ClientOptions(BulkChannelTls tls, string host)
    {
        var trust = LoadTrust(tls);
        var options = new SslClientAuthenticationOptions { TargetHost = tls.ServerName ?? host };
        if (trust is not null)
        {
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.Add(trust);
            options.CertificateChainPolicy = policy;
        }
        return options;
    }

    /// <summary>The certificate peers' certificates must chain to, from the trust file; null without one (the system's store).</summary>
    private static X509Certificate2? LoadTrust(BulkChannelTls tls)
    {
        if (tls.TrustFile is not { } file) return null;
        RequireFile("actorckpt.transfer.channel.tls.trust", file);
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"actorckpt.transfer.channel.tls.trust: cannot load '{file}': {e.Message}", e);
        }
    }
}
