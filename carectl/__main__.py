from carectl.cli import app

app(prog_name="ccp")
