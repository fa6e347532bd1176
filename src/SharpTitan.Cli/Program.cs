Console.WriteLine("sharptitan");
