using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Monitoring.Persistence;
using Npgsql;

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

/// <summary>The Data Protection key ring in PostgreSQL, so every silo and API process shares it.</summary>
public sealed class PostgresXmlRepository(NpgsqlDataSource dataSource, string schema) : IXmlRepository
{
    private readonly string _table = $"{Schema.Quote(schema)}.data_protection_keys";

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var command = dataSource.CreateCommand($"SELECT xml FROM {_table} ORDER BY id");
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read()) elements.Add(XElement.Parse(reader.GetString(0)));
        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var command = dataSource.CreateCommand($"INSERT INTO {_table} (name, xml) VALUES ($1, $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = friendlyName });
        command.Parameters.Add(new NpgsqlParameter { Value = element.ToString(SaveOptions.DisableFormatting) });
        command.ExecuteNonQuery();
    }
}

/// <summary>The embedded mode's key ring: in memory, gone with the process, like the state it protects.</summary>
public sealed class InMemoryXmlRepository : IXmlRepository
{
    private readonly List<XElement> _elements = [];
    private readonly Lock _lock = new();

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock) return [.. _elements.Select(e => new XElement(e))];
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock) _elements.Add(new XElement(element));
    }
}
