using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnitV3;
using static ArchUnitNET.Fluent.ArchRuleDefinition;
using ArchUnitNET.Fluent.Slices;

namespace Monitoring.Tests.Architecture;

/// <summary>The project boundaries, checked on the built assemblies: what each part may depend on.</summary>
public sealed class BoundaryTests
{
    private static readonly System.Reflection.Assembly Abstractions = typeof(Monitoring.Rules.AlertRule).Assembly;
    private static readonly System.Reflection.Assembly Grains = typeof(Monitoring.Alerts.AlertGrain).Assembly;
    private static readonly System.Reflection.Assembly Hosting = typeof(Monitoring.Hosting.Cluster.ClusterSettings).Assembly;
    private static readonly System.Reflection.Assembly Api = typeof(Program).Assembly;
    private static readonly System.Reflection.Assembly Silo = System.Reflection.Assembly.LoadFrom(Support.Repository.Dll("Silo"));

    private static readonly ArchUnitNET.Domain.Architecture Product = new ArchLoader().LoadAssemblies(Abstractions, Grains, Hosting, Api, Silo).Build();

    [Fact]
    public void The_api_uses_grain_interfaces_never_grain_implementations() =>
        Types().That().ResideInAssembly(Api).Should().NotDependOnAny(Types().That().ResideInAssembly(Grains))
            .Because("the API talks to the cluster through src/Grains/Abstractions; put what it needs there as an interface")
            .Check(Product);

    [Fact]
    public void The_silo_and_hosting_never_reach_into_the_api() =>
        Types().That().ResideInAssembly(Hosting).Or().ResideInAssembly(Silo).Or().ResideInAssembly(Grains)
            .Should().NotDependOnAny(Types().That().ResideInAssembly(Api))
            .Check(Product);

    [Fact]
    public void Abstractions_depend_only_on_the_orleans_sdk()
    {
        var allowed = new[] { "System", "Microsoft.", "Orleans", "netstandard", "mscorlib" };
        var references = Abstractions.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.All(references, name => Assert.True(allowed.Any(prefix => name == prefix || name.StartsWith(prefix, StringComparison.Ordinal)),
            $"Monitoring.Grains.Abstractions references {name}; it may depend on the Orleans SDK only (move the code that needs {name} to src/Grains/Implementation)"));
        Assert.DoesNotContain(references, name => name.StartsWith("Monitoring", StringComparison.Ordinal));
    }

    [Fact]
    public void Grain_only_interfaces_are_not_abstractions() =>
        Types().That().ResideInAssembly(Abstractions).Should().NotHaveNameContaining("ListingShard")
            .Because("what only grains use stays in the implementation")
            .Check(Product);

    [Fact]
    public void The_projects_form_layers_without_cycles()
    {
        // Abstractions <- Grains <- Hosting <- Silo and Api; each layer references only those below it.
        string[] order = ["Monitoring.Grains.Abstractions", "Monitoring.Grains", "Monitoring.Hosting", "Monitoring.Silo", "Monitoring.Api"];
        foreach (var assembly in new[] { Abstractions, Grains, Hosting, Silo, Api })
        {
            var rank = Array.IndexOf(order, assembly.GetName().Name);
            foreach (var reference in assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => order.Contains(n)))
            {
                Assert.True(Array.IndexOf(order, reference) < rank, $"{assembly.GetName().Name} references {reference}, a layer above or beside it");
            }
        }
        Assert.DoesNotContain(Api.GetReferencedAssemblies(), a => a.Name == "Monitoring.Silo");
    }

    [Theory]
    [InlineData("Monitoring.Api.(*)")]
    [InlineData("Monitoring.Hosting.(*)")]
    public void The_parts_of_the_api_and_of_hosting_have_no_cycles(string slices) =>
        SliceRuleDefinition.Slices().Matching(slices).Should().BeFreeOfCycles().Check(Product);
}
