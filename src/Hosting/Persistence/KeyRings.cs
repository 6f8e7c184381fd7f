using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace Monitoring.Hosting.Persistence;

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
