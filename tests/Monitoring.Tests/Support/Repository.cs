namespace Monitoring.Tests.Support;

/// <summary>The repository the tests run in, and the product's built assemblies in it.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathTo(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>src/{project}'s built dll, in the configuration the tests were built in (`dotnet test Monitoring.sln` builds it).</summary>
    public static string Dll(string project)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var path = PathTo("src", project, "bin", configuration, "net10.0", $"Monitoring.{project}.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"build the solution first (dotnet build Monitoring.sln): {path} is missing");
    }

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Monitoring.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("the tests run from inside the repository");
    }
}
