global using Orleans;
global using Orleans.Concurrency;
global using System.Text.Json.Serialization;
