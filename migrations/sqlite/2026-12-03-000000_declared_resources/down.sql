DROP TABLE unique_values;
DROP TABLE resources;
