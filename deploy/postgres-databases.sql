-- Run once by the postgres image when its data volume is new (docker-compose.yml): one database
-- per office. The offices create their tables themselves (named migrations) at start.
CREATE DATABASE origin_440300 OWNER office;
CREATE DATABASE destination_510100 OWNER office;
