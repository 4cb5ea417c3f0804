using UniCLift.Grains.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddUniCLiftSilo();
var app = builder.Build();
app.MapGet("/", () => "UniCLift silo");
app.Run();
