using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorCkpt;

/// <summary>Certificates for the bulk channel's TLS in tests; linked into each test project that needs one.</summary>
internal static class SelfSignedCertificate
{
    /// <summary>
    /// Writes a self-signed CA certificate for <paramref name="name"/> (its subject and DNS name) and its
    /// key as PEM files <paramref name="name"/>.crt and .key in <paramref name="dir"/>: a node's
    /// certificate that is also the trust peers check it against.
    /// </summary>
    public static (string Cert, string Key) Write(string dir, string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certFile = Path.Combine(dir, name + ".crt");
        var keyFile = Path.Combine(dir, name + ".key");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, rsa.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }
}
