"""What each endpoint is and accepts: the endpoint table (`table`), the request
declarations (`requests`), their field rules (`rules`) and the front door to them
(`validate`)."""
