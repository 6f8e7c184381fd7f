using Microsoft.AspNetCore.DataProtection;

namespace Monitoring.Security;

/// <summary>
/// Seals secrets at rest with ASP.NET Core Data Protection: a channel's config (SMTP password, Slack token and
/// webhook URL, signing secret, header values) is stored as "dp1:" and the protected text. Production keeps the key
/// ring in PostgreSQL, shared by every silo; the embedded mode keeps it in memory, like its state.
/// </summary>
public sealed class SecretSealer(IDataProtectionProvider provider)
{
    private const string Prefix = "dp1:";
    private readonly IDataProtector _protector = provider.CreateProtector("Monitoring.Secrets.v1");

    public string Seal(string plain) => Prefix + _protector.Protect(plain);

    /// <summary>Opens a sealed value; a value stored before sealing existed is returned as it is.</summary>
    public string Unseal(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal) ? _protector.Unprotect(stored[Prefix.Length..]) : stored;
}
